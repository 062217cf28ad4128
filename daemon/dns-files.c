/* DNS files for the stage1; see dns-files.h. Builders validate all input before writing a
 * byte; writers work relative to an fd of the rootfs so nothing in it is followed. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "dns-files.h"

static void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}

static size_t strv_length(char *const *l) {
        size_t n = 0;

        while (l && l[n])
                n++;
        return n;
}

static bool ip_is_valid(const char *s) {
        unsigned char buf[sizeof(struct in6_addr)];

        return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static bool label_char_ok(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_';
}

int dns_name_is_valid(const char *s) {
        size_t len, label = 0;

        if (!s)
                return 0;
        len = strlen(s);
        if (len > 0 && s[len - 1] == '.')
                len--;
        if (len == 0 || len > DNS_NAME_MAX)
                return 0;
        for (size_t i = 0; i < len; i++) {
                if (s[i] == '.') {
                        if (label == 0 || s[i - 1] == '-')
                                return 0;
                        label = 0;
                        continue;
                }
                if (!label_char_ok(s[i]) || (label == 0 && s[i] == '-') || ++label > 63)
                        return 0;
        }
        return label > 0 && s[len - 1] != '-';
}

/* resolv.conf options are words like "ndots:2", "timeout:3", "rotate", "edns0". */
static bool option_is_valid(const char *s) {
        size_t len = strlen(s);

        if (len == 0 || len > DNS_OPTION_MAX)
                return false;
        for (size_t i = 0; i < len; i++)
                if (!label_char_ok(s[i]) && s[i] != ':' && s[i] != '.')
                        return false;
        return true;
}

static int check_list(char *const *l, const char *field, bool (*valid)(const char *),
                      const char *what, ErrorDetail *d) {
        size_t n = strv_length(l);

        if (n > DNS_LIST_MAX)
                return error_detail_set(d, -E2BIG, field, "more than %d entries", DNS_LIST_MAX);
        for (size_t i = 0; i < n; i++)
                if (!valid(l[i])) {
                        char f[64];

                        snprintf(f, sizeof(f), "%s[%zu]", field, i);
                        return error_detail_set(d, -EINVAL, f, "not %s: \"%.200s\"", what, l[i]);
                }
        return 0;
}

static bool name_ok(const char *s) {
        return dns_name_is_valid(s) > 0;
}

static int resolv_conf_check(const DnsConfig *c, ErrorDetail *d) {
        int r;

        r = check_list(c->servers, "dns", ip_is_valid, "an IP address", d);
        if (r < 0)
                return r;
        r = check_list(c->search, "dnsSearch", name_ok, "a DNS name", d);
        if (r < 0)
                return r;
        r = check_list(c->options, "dnsOptions", option_is_valid, "a resolv.conf option", d);
        if (r < 0)
                return r;
        if (c->domain && !name_ok(c->domain))
                return error_detail_set(d, -EINVAL, "dnsDomain", "not a DNS name: \"%.200s\"",
                                        c->domain);
        return 0;
}

static void put_joined(FILE *f, const char *keyword, char *const *l) {
        if (strv_length(l) == 0)
                return;
        fputs(keyword, f);
        for (size_t i = 0; l[i]; i++)
                fprintf(f, " %s", l[i]);
        fputc('\n', f);
}

/* Closes f and hands out its buffer; the stream owns the buffer until then. */
static int memstream_finish(FILE **f, char **buf, char **ret) {
        bool failed = ferror(*f);

        if (fclose(*f) != 0)
                failed = true;
        *f = NULL;
        if (failed) {
                free(*buf);
                *buf = NULL;
                return -ENOMEM;
        }
        *ret = TAKE_PTR(*buf);
        return 0;
}

int dns_resolv_conf_format(const DnsConfig *c, char **ret, ErrorDetail *d) {
        _cleanup_(fclosep) FILE *f = NULL;
        _cleanup_free_ char *buf = NULL;
        size_t size;
        int r;

        r = resolv_conf_check(c, d);
        if (r < 0)
                return r;
        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        fputs("# " DNS_RESOLV_COMMENT "\n\n", f);
        put_joined(f, "search", c->search);
        for (size_t i = 0; c->servers && c->servers[i]; i++)
                fprintf(f, "nameserver %s\n", c->servers[i]);
        put_joined(f, "options", c->options);
        if (c->domain)
                fprintf(f, "domain %s\n", c->domain);
        return memstream_finish(&f, &buf, ret);
}

static int hosts_entries_check(const HostsEntry *entries, size_t n, ErrorDetail *d) {
        char field[64];
        int r;

        if (n > DNS_LIST_MAX)
                return error_detail_set(d, -E2BIG, "hostsEntries", "more than %d entries",
                                        DNS_LIST_MAX);
        for (size_t i = 0; i < n; i++) {
                snprintf(field, sizeof(field), "hostsEntries[%zu].ip", i);
                if (!entries[i].ip || !ip_is_valid(entries[i].ip))
                        return error_detail_set(d, -EINVAL, field, "not an IP address: \"%.200s\"",
                                                entries[i].ip ? entries[i].ip : "");
                snprintf(field, sizeof(field), "hostsEntries[%zu].hostnames", i);
                if (strv_length(entries[i].hostnames) == 0)
                        return error_detail_set(d, -EINVAL, field, "no host name for %s",
                                                entries[i].ip);
                r = check_list(entries[i].hostnames, field, name_ok, "a host name", d);
                if (r < 0)
                        return r;
        }
        return 0;
}

int dns_hosts_format(const char *fallback, const HostsEntry *entries, size_t n_entries,
                     char **ret, ErrorDetail *d) {
        _cleanup_(fclosep) FILE *f = NULL;
        _cleanup_free_ char *buf = NULL;
        size_t size;
        int r;

        r = hosts_entries_check(entries, n_entries, d);
        if (r < 0)
                return r;
        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        fputs(fallback ? fallback : DNS_HOSTS_DEFAULT, f);
        fputs("\n\n" DNS_HOSTS_HEADER "\n", f);
        for (size_t i = 0; i < n_entries; i++) {
                fputs(entries[i].ip, f);
                for (size_t j = 0; entries[i].hostnames[j]; j++)
                        fprintf(f, " %s", entries[i].hostnames[j]);
                fputc('\n', f);
        }
        return memstream_finish(&f, &buf, ret);
}

/* Opens <rootfs>/etc, creating it with mode when missing; never follows a symlink at etc. */
static int open_etc(const char *rootfs, mode_t mode, ErrorDetail *d) {
        _cleanup_close_ int root = -EBADF;
        int fd;

        root = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                return error_detail_set(d, NEG_ERRNO(), "stage1", "cannot open rootfs %s: %m",
                                        rootfs);
        if (mkdirat(root, "etc", mode) == 0) {
                /* exactly mode, whatever the umask */
                if (fchmodat(root, "etc", mode, 0) < 0)
                        return error_detail_set(d, NEG_ERRNO(), "stage1", "chmod %s/etc: %m",
                                                rootfs);
        } else if (errno != EEXIST)
                return error_detail_set(d, NEG_ERRNO(), "stage1", "mkdir %s/etc: %m", rootfs);
        fd = openat(root, "etc", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return error_detail_set(d, NEG_ERRNO(), "stage1",
                                        "%s/etc is not a directory (or is a symlink): %m", rootfs);
        return fd;
}

static int write_all(int fd, const char *p, size_t len) {
        while (len > 0) {
                ssize_t n = write(fd, p, len);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return NEG_ERRNO();
                }
                p += n;
                len -= (size_t) n;
        }
        return 0;
}

/* No fsync: the files are rewritten before every run, so a crash cannot leave a stale one
 * that is used. rename(2) alone keeps readers from seeing a partial file. */
static int replace_file_at(int dir, const char *name, const char *content) {
        char tmp[64];
        uint64_t rnd;
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
                return -EIO;
        snprintf(tmp, sizeof(tmp), ".#%s.%016llx", name, (unsigned long long) rnd);
        fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
                return NEG_ERRNO();
        r = fchmod(fd, 0644) < 0 ? NEG_ERRNO() : write_all(fd, content, strlen(content));
        if (r == 0 && renameat(dir, tmp, dir, name) < 0)
                r = NEG_ERRNO();
        if (r < 0)
                (void) unlinkat(dir, tmp, 0);
        return r;
}

int dns_write_resolv_conf(const char *stage1_rootfs, const DnsConfig *c, ErrorDetail *d) {
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int etc = -EBADF;
        int r;

        r = dns_resolv_conf_format(c, &text, d);
        if (r < 0)
                return r;
        etc = open_etc(stage1_rootfs, 0750, d);
        if (etc < 0)
                return etc;
        r = replace_file_at(etc, "rkt-resolv.conf", text);
        if (r < 0)
                return error_detail_set(d, r, "stage1", "writing %s/etc/rkt-resolv.conf: %s",
                                        stage1_rootfs, strerror(-r));
        return 0;
}

/* Reads etc/hosts-fallback into *ret, or leaves *ret NULL when there is none. */
static int read_fallback(int etc, char **ret, ErrorDetail *d) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        ssize_t n;

        fd = openat(etc, "hosts-fallback", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT)
                return 0;
        if (fd < 0 || fstat(fd, &st) < 0)
                return error_detail_set(d, NEG_ERRNO(), "hosts-fallback", "cannot open: %m");
        if (!S_ISREG(st.st_mode))
                return error_detail_set(d, -EINVAL, "hosts-fallback", "not a regular file");
        if (st.st_size > DNS_HOSTS_FALLBACK_MAX)
                return error_detail_set(d, -EFBIG, "hosts-fallback", "larger than %d bytes",
                                        DNS_HOSTS_FALLBACK_MAX);
        buf = malloc((size_t) st.st_size + 1);
        if (!buf)
                return -ENOMEM;
        n = pread(fd, buf, (size_t) st.st_size, 0);
        if (n < 0)
                return error_detail_set(d, NEG_ERRNO(), "hosts-fallback", "cannot read: %m");
        buf[n] = '\0';
        if (strlen(buf) != (size_t) n)
                return error_detail_set(d, -EINVAL, "hosts-fallback", "contains a NUL byte");
        *ret = TAKE_PTR(buf);
        return 0;
}

int dns_write_hosts(const char *stage1_rootfs, const HostsEntry *entries, size_t n_entries,
                    ErrorDetail *d) {
        _cleanup_free_ char *fallback = NULL, *text = NULL;
        _cleanup_close_ int etc = -EBADF;
        int r;

        r = hosts_entries_check(entries, n_entries, d);
        if (r < 0)
                return r;
        etc = open_etc(stage1_rootfs, 0755, d);
        if (etc < 0)
                return etc;
        r = read_fallback(etc, &fallback, d);
        if (r < 0)
                return r;
        r = dns_hosts_format(fallback, entries, n_entries, &text, d);
        if (r < 0)
                return r;
        r = replace_file_at(etc, "rkt-hosts", text);
        if (r < 0)
                return error_detail_set(d, r, "stage1", "writing %s/etc/rkt-hosts: %s",
                                        stage1_rootfs, strerror(-r));
        return 0;
}
