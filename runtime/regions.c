/* regions.c - which region a source host is in (see regions.h). */
#include "runtime/regions.h"

#include "runtime/config.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

/* Where the software sources builds commonly use are served from. */
static const sw_region_rule builtin[] = {
    /* mainland China: mirrors, registries and proxies */
    {"*.aliyuncs.com", "cn"},
    {"*.aliyun.com", "cn"},
    {"*.tsinghua.edu.cn", "cn"},
    {"*.ustc.edu.cn", "cn"},
    {"*.sjtu.edu.cn", "cn"},
    {"*.163.com", "cn"},
    {"*.huaweicloud.com", "cn"},
    {"mirrors.cloud.tencent.com", "cn"},
    {"*.tencentcloudcr.com", "cn"},
    {"ccr.ccs.tencentyun.com", "cn"},
    {"*.npmmirror.com", "cn"},
    {"goproxy.cn", "cn"},
    {"pypi.doubanio.com", "cn"},
    {"*.gitee.com", "cn"},
    /* outside: the upstream registries, distributions and forges */
    {"*.docker.io", "overseas"},
    {"*.docker.com", "overseas"},
    {"ghcr.io", "overseas"},
    {"quay.io", "overseas"},
    {"*.gcr.io", "overseas"},
    {"registry.k8s.io", "overseas"},
    {"mcr.microsoft.com", "overseas"},
    {"public.ecr.aws", "overseas"},
    {"*.debian.org", "overseas"},
    {"*.ubuntu.com", "overseas"},
    {"*.alpinelinux.org", "overseas"},
    {"*.fedoraproject.org", "overseas"},
    {"registry.npmjs.org", "overseas"},
    {"registry.yarnpkg.com", "overseas"},
    {"pypi.org", "overseas"},
    {"pypi.python.org", "overseas"},
    {"files.pythonhosted.org", "overseas"},
    {"proxy.golang.org", "overseas"},
    {"sum.golang.org", "overseas"},
    {"*.github.com", "overseas"},
    {"*.githubusercontent.com", "overseas"},
    {"gitlab.com", "overseas"},
    {"bitbucket.org", "overseas"},
    {"crates.io", "overseas"},
    {"static.crates.io", "overseas"},
    {"repo.maven.apache.org", "overseas"},
    {"repo1.maven.org", "overseas"},
    {"rubygems.org", "overseas"},
};

const sw_region_rule *sw_regions_builtin(size_t *n_out)
{
    *n_out = sizeof(builtin) / sizeof(builtin[0]);
    return builtin;
}

/* The length of host without its ":port" (an IPv6 "[...]" keeps its colons). */
static size_t host_len(const char *host)
{
    const char *end = host[0] == '[' ? strchr(host, ']') : NULL;
    const char *colon = strrchr(end != NULL ? end : host, ':');
    return colon != NULL ? (size_t)(colon - host) : strlen(host);
}

bool sw_region_match(const char *pattern, const char *host)
{
    size_t plen = host_len(pattern), hlen;

    if (pattern[plen] == '\0') {
        hlen = host_len(host); /* no port in the pattern: any port */
    } else {
        plen = strlen(pattern);
        hlen = strlen(host);
    }
    if (strncmp(pattern, "*.", 2) == 0) {
        const char *domain = pattern + 2;
        size_t dlen = plen - 2;
        if (hlen == dlen) {
            return strncasecmp(host, domain, dlen) == 0;
        }
        return hlen > dlen && host[hlen - dlen - 1] == '.' &&
               strncasecmp(host + hlen - dlen, domain, dlen) == 0;
    }
    return hlen == plen && strncasecmp(host, pattern, plen) == 0;
}

const char *sw_region_of(const sw_config *cfg, const char *host)
{
    size_t n;
    const sw_region_rule *rules;

    if (host == NULL || host[0] == '\0') {
        return NULL;
    }
    if (cfg != NULL) {
        for (size_t i = 0; i < cfg->nregion_rules; i++) {
            if (sw_region_match(cfg->region_rules[i].pattern, host)) {
                return cfg->region_rules[i].region;
            }
        }
    }
    rules = sw_regions_builtin(&n);
    for (size_t i = 0; i < n; i++) {
        if (sw_region_match(rules[i].pattern, host)) {
            return rules[i].region;
        }
    }
    return NULL;
}
