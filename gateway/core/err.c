#include "gateway/core/err.h"

const char *gw_strerror(int err)
{
    switch (err) {
    case GW_OK: return "ok";
    case GW_ENOMEM: return "out of memory";
    case GW_EINVAL: return "invalid argument";
    case GW_ETOOBIG: return "too big";
    case GW_EIO: return "i/o error";
    case GW_ETIMEDOUT: return "timed out";
    case GW_ENOTFOUND: return "not found";
    case GW_ECONFLICT: return "conflict";
    case GW_EAGAIN: return "try again";
    case GW_ECLOSED: return "closed";
    case GW_ENOTSUP: return "not implemented";
    case GW_EPERM: return "refused by policy";
    default: return "unknown error";
    }
}
