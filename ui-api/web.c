/*
 * The web page: static files compiled into the binary (web/embed.cmake),
 * served read-only. The page shows untrusted telemetry, so every answer
 * carries a Content-Security-Policy that allows only the page's own files
 * (no inline script or style, no other origin), and nosniff.
 */
#include "web.h"

#include <stddef.h>
#include <string.h>

struct web_asset {
    const char *path; /* "/index.html" */
    const unsigned char *data;
    size_t len;
    const char *etag; /* quoted: a hash of the content, so a new build revalidates */
};

#include "web_assets.inc"

static const char csp[] = "default-src 'self'; script-src 'self'; style-src 'self'; "
                          "img-src 'self' data:; connect-src 'self'; font-src 'self'; "
                          "object-src 'none'; base-uri 'none'; form-action 'self'; "
                          "frame-ancestors 'none'";

static const char *content_type(const char *path)
{
    static const struct {
        const char *ext;
        const char *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".svg", "image/svg+xml"},
    };
    const char *dot = strrchr(path, '.');

    for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
        if (!strcmp(dot, types[i].ext))
            return types[i].type;
    return "application/octet-stream";
}

static const struct web_asset *find_asset(const char *url)
{
    if (!strcmp(url, "/"))
        url = "/index.html";
    for (size_t i = 0; i < sizeof(web_assets) / sizeof(web_assets[0]); i++)
        if (!strcmp(url, web_assets[i].path))
            return &web_assets[i];
    return NULL;
}

/* True if If-None-Match lists etag (or is "*"): the client's copy is current. */
static bool etag_matches(struct MHD_Connection *c, const char *etag)
{
    const char *inm =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
    size_t n = strlen(etag);

    if (!inm)
        return false;
    if (!strcmp(inm, "*"))
        return true;
    for (const char *p = strstr(inm, etag); p; p = strstr(p + 1, etag)) {
        bool starts = p == inm || p[-1] == ' ' || p[-1] == ',' || p[-1] == '/';
        bool ends = p[n] == '\0' || p[n] == ' ' || p[n] == ',';
        if (starts && ends)
            return true;
    }
    return false;
}

bool opg_api_web_dispatch(struct api *api, struct MHD_Connection *c, const char *url,
                          enum MHD_Result *ret)
{
    const struct web_asset *a = find_asset(url);
    bool fresh;
    struct MHD_Response *r;

    if (!a)
        return false;
    fresh = etag_matches(c, a->etag);
    /* The arrays live as long as the process: libmicrohttpd may send them uncopied. */
    r = MHD_create_response_from_buffer(fresh ? 0 : a->len, fresh ? NULL : (void *)a->data,
                                        MHD_RESPMEM_PERSISTENT);
    if (!r) {
        *ret = MHD_NO;
        return true;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type(a->path));
    /* Asset names carry no hash: let browsers keep a copy but revalidate it each time. */
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, a->etag);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Content-Security-Policy", csp);
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    *ret = MHD_queue_response(c, fresh ? MHD_HTTP_NOT_MODIFIED : MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return true;
}
