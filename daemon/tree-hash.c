/* The tree hash: rkt's algorithm (store/treestore Hash) over a rendered tree dir, in a record
 * format of our own. Not byte-compatible with rkt, but deterministic and covering what a
 * tampered tree could change: names, types, permission bits including setuid/setgid/sticky,
 * owners, sizes, link targets, device numbers, every extended attribute, and file contents.
 * Times are left out, as in rkt.
 *
 * The walk visits the tree dir depth-first, the names of each directory sorted bytewise, the
 * directory itself before its children (Go's filepath.Walk). At the top level it skips
 * "manifest", "hash", "rendered" and "image"; sockets are skipped everywhere. For each entry
 * the SHA-512 takes one line, with keys in this order and no spaces:
 *   {"Name":S,"Mode":N,"UID":N,"GID":N,"Size":N,"Typeflag":"C","Linkname":S,
 *    "Devmajor":N,"Devminor":N,"Xattrs":[{"Name":S,"Value":"<hex>"},...]}\n
 * where a regular file also has ,"Digest":"<64 hex>" (the SHA-256 of its bytes) after Xattrs.
 * Per-file digests let a render hand over the digests it took while extracting (the same ones
 * its blob check uses, see stream-digest.h), and let a few threads read and hash the other
 * files at once: the records are collected in memory, the digests filled in, then the whole
 * is hashed. After a render the records come from what it made (tree_hash_nodes), written in
 * the walk's order, so that both give one hash for one tree. Name is the path relative to the
 * tree dir ("rootfs/bin/sh"); Mode is st_mode & 07777 in decimal; Typeflag is the tar type
 * ('0' file, '1' hardlink, '2' symlink, '3' char device, '4' block device, '5' directory, '6' fifo);
 * Xattrs are sorted by name. S is a JSON string in which '"', '\\', bytes below 0x20 and bytes
 * from 0x7f up are written as \u00XX, so any byte string has one spelling. A non-directory
 * whose inode was seen before becomes Typeflag '1' with Linkname the first path, Size 0 and no
 * Digest. The result is "sha512-" + the first 64 hex digits of the digest. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <search.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "cleanup.h"
#include "hex.h"
#include "tree-store.h"

#define HASH_BUFFER_SIZE (256 * 1024)
#define HASH_THREADS_MAX 4
#define XATTR_LIST_MAX_BYTES (64 * 1024)
#define XATTR_VALUE_MAX_BYTES (64 * 1024)

typedef struct SeenInode {
        dev_t dev;
        ino_t ino;
        char *path;
} SeenInode;

/* A regular file whose digest goes at offset of the records. */
typedef struct FileDigest {
        char *path;
        size_t offset;
} FileDigest;

typedef struct HashWalk {
        char *records;               /* the records so far */
        size_t n_records, records_allocated;
        FileDigest *files;
        size_t n_files;
        void *seen;                  /* tsearch tree of SeenInode */
        TreeNodes *known;            /* what a render made, for its content digests, or NULL */
        bool legacy;                 /* file digests in SHA-512, as before check digests */
        char path[PATH_MAX];         /* the tree dir, then "/" and the current relative path */
        size_t root_len;
        const char *name;            /* the current entry, relative to the working directory */
} HashWalk;

static int seen_compare(const void *a, const void *b) {
        const SeenInode *x = a, *y = b;

        if (x->dev != y->dev)
                return x->dev < y->dev ? -1 : 1;
        if (x->ino != y->ino)
                return x->ino < y->ino ? -1 : 1;
        return 0;
}

static void seen_free(void *p) {
        SeenInode *s = p;

        free(s->path);
        free(s);
}

/* A buffer of our own: stdio's memory stream cost a third of the time of hashing a
 * render's nodes. */
static int md_add(HashWalk *w, const void *p, size_t n) {
        if (w->records_allocated - w->n_records < n) {
                size_t size = w->records_allocated ? w->records_allocated : 64 * 1024;
                char *more;

                while (size - w->n_records < n)
                        size *= 2;
                more = realloc(w->records, size);
                if (!more)
                        return -ENOMEM;
                w->records = more;
                w->records_allocated = size;
        }
        memcpy(w->records + w->n_records, p, n);
        w->n_records += n;
        return 0;
}

/* The literal s, then v in decimal (printf's machinery cost a tenth of hashing a render). */
static int md_number(HashWalk *w, const char *s, uint64_t v) {
        char digits[24];
        size_t k = sizeof(digits);
        int r = md_add(w, s, strlen(s));

        do
                digits[--k] = (char) ('0' + v % 10);
        while ((v /= 10) > 0);
        return r < 0 ? r : md_add(w, digits + k, sizeof(digits) - k);
}

static int md_string(HashWalk *w, const char *s, size_t n) {
        char out[7];
        size_t start = 0;
        int r;

        r = md_add(w, "\"", 1);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                unsigned char c = (unsigned char) s[i];

                if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
                        continue;
                r = md_add(w, s + start, i - start);
                snprintf(out, sizeof(out), "\\u%04x", c);
                if (r >= 0)
                        r = md_add(w, out, 6);
                start = i + 1;
        }
        if (r >= 0)
                r = md_add(w, s + start, n - start);
        return r < 0 ? r : md_add(w, "\"", 1);
}

static int md_hex(HashWalk *w, const uint8_t *p, size_t n) {
        static const char digits[] = "0123456789abcdef";
        char out[128];
        size_t k = 0;
        int r = md_add(w, "\"", 1);

        for (size_t i = 0; r >= 0 && i < n; i++) {
                out[k++] = digits[p[i] >> 4];
                out[k++] = digits[p[i] & 15];
                if (k == sizeof(out) || i + 1 == n) {
                        r = md_add(w, out, k);
                        k = 0;
                }
        }
        return r < 0 ? r : md_add(w, "\"", 1);
}

static int strcmp_ptr(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static int xattr_names(const char *path, char **ret, size_t *ret_n) {
        _cleanup_free_ char *list = NULL;
        ssize_t n = llistxattr(path, NULL, 0);

        if (n < 0 && (errno == ENOTSUP || errno == EOPNOTSUPP))
                n = 0;
        if (n < 0)
                return NEG_ERRNO();
        if (n > XATTR_LIST_MAX_BYTES)
                return -E2BIG;
        list = malloc((size_t) n + 1);
        if (!list)
                return -ENOMEM;
        n = n == 0 ? 0 : llistxattr(path, list, (size_t) n);
        if (n < 0)
                return errno == ERANGE ? -EAGAIN : NEG_ERRNO();
        list[n] = 0;
        *ret = TAKE_PTR(list);
        *ret_n = (size_t) n;
        return 0;
}

static int hash_xattr(HashWalk *w, const char *path, const char *name) {
        _cleanup_free_ uint8_t *value = malloc(XATTR_VALUE_MAX_BYTES);
        ssize_t n;
        int r;

        if (!value)
                return -ENOMEM;
        n = lgetxattr(path, name, value, XATTR_VALUE_MAX_BYTES);
        if (n < 0)
                return NEG_ERRNO();
        r = md_add(w, "{\"Name\":", 8);
        if (r >= 0)
                r = md_string(w, name, strlen(name));
        if (r >= 0)
                r = md_add(w, ",\"Value\":", 9);
        if (r >= 0)
                r = md_hex(w, value, (size_t) n);
        return r < 0 ? r : md_add(w, "}", 1);
}

/* path NULL: a node the render made, which has none. */
static int hash_xattrs(HashWalk *w, const char *path) {
        _cleanup_free_ char *list = NULL;
        _cleanup_free_ const char **names = NULL;
        size_t size, n = 0;
        int r;

        if (!path)
                return md_add(w, "[]", 2);
        r = xattr_names(path, &list, &size);
        if (r < 0)
                return r;
        names = calloc(size / 2 + 1, sizeof(char *));
        if (!names)
                return -ENOMEM;
        for (size_t off = 0; off < size; off += strlen(list + off) + 1)
                if (list[off])
                        names[n++] = list + off;
        qsort(names, n, sizeof(char *), strcmp_ptr);
        r = md_add(w, "[", 1);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                if (i > 0)
                        r = md_add(w, ",", 1);
                if (r >= 0)
                        r = hash_xattr(w, path, names[i]);
        }
        return r < 0 ? r : md_add(w, "]", 1);
}

char tree_typeflag(mode_t mode) {
        switch (mode & S_IFMT) {
        case S_IFREG:
                return '0';
        case S_IFLNK:
                return '2';
        case S_IFCHR:
                return '3';
        case S_IFBLK:
                return '4';
        case S_IFDIR:
                return '5';
        case S_IFIFO:
                return '6';
        default:
                return 0;
        }
}

/* The first path recorded for the inode (dev, ino), or NULL the first time (then name is
 * remembered for it). */
static int seen_before(HashWalk *w, dev_t dev, ino_t ino, const char *name, const char **ret) {
        SeenInode key = { .dev = dev, .ino = ino }, *s, **found;

        *ret = NULL;
        found = tfind(&key, &w->seen, seen_compare);
        if (found) {
                *ret = (*found)->path;
                return 0;
        }
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        *s = key;
        s->path = strdup(name);
        if (!s->path || !tsearch(s, &w->seen, seen_compare)) {
                seen_free(s);
                return -ENOMEM;
        }
        return 0;
}

#define DIGEST_HEX_LEN (2 * CONTENT_DIGEST_SIZE)
#define LEGACY_DIGEST_HEX_LEN 128

static size_t digest_hex_len(const HashWalk *w) {
        return w->legacy ? LEGACY_DIGEST_HEX_LEN : DIGEST_HEX_LEN;
}

static const ContentDigest *known_digest(TreeNodes *nodes, const char *path);

/* Writes the digest of the file at w->path if it is known, else leaves room for it and
 * remembers where. */
static int add_file_digest(HashWalk *w, const ContentDigest *known) {
        static const char zeros[LEGACY_DIGEST_HEX_LEN] = { [0 ... LEGACY_DIGEST_HEX_LEN - 1] = '0' };
        const ContentDigest *k = w->legacy || !known || !known->set ? NULL : known;
        size_t offset;
        FileDigest *more;
        int r;

        r = md_add(w, ",\"Digest\":\"", 11);
        if (r >= 0 && k) {
                char hex[DIGEST_HEX_LEN + 1];

                hex_encode(k->digest, CONTENT_DIGEST_SIZE, hex);
                r = md_add(w, hex, DIGEST_HEX_LEN);
                return r < 0 ? r : md_add(w, "\"", 1);
        }
        if (r < 0)
                return r;
        offset = w->n_records;
        more = reallocarray(w->files, w->n_files + 1, sizeof(FileDigest));
        if (!more)
                return -ENOMEM;
        w->files = more;
        more[w->n_files].offset = offset;
        more[w->n_files].path = strdup(w->path);
        if (!more[w->n_files].path)
                return -ENOMEM;
        w->n_files++;
        r = md_add(w, zeros, digest_hex_len(w));
        return r < 0 ? r : md_add(w, "\"", 1);
}

/* One record's fields. type '1': a further link to an inode recorded under link. */
typedef struct Meta {
        char type;
        mode_t mode;
        uid_t uid;
        gid_t gid;
        uint64_t size;
        dev_t rdev;
        const char *link;
        size_t link_len;
        const char *xattrs;          /* the path to read them from, or NULL for none */
        const ContentDigest *known;
} Meta;

/* The record of the entry at w->path, named name. */
static int hash_record(HashWalk *w, const char *name, const Meta *m) {
        bool chr_or_blk = m->type == '3' || m->type == '4';
        int r;

        r = md_add(w, "{\"Name\":", 8);
        if (r >= 0)
                r = md_string(w, name, strlen(name));
        if (r >= 0)
                r = md_number(w, ",\"Mode\":", m->mode & 07777);
        if (r >= 0)
                r = md_number(w, ",\"UID\":", m->uid);
        if (r >= 0)
                r = md_number(w, ",\"GID\":", m->gid);
        if (r >= 0)
                r = md_number(w, ",\"Size\":", m->type == '0' ? m->size : 0);
        if (r >= 0) {
                char type[] = ",\"Typeflag\":\"?\",\"Linkname\":";

                type[13] = m->type;
                r = md_add(w, type, sizeof(type) - 1);
        }
        if (r >= 0)
                r = md_string(w, m->link ? m->link : "", m->link_len);
        if (r >= 0)
                r = md_number(w, ",\"Devmajor\":", chr_or_blk ? major(m->rdev) : 0);
        if (r >= 0)
                r = md_number(w, ",\"Devminor\":", chr_or_blk ? minor(m->rdev) : 0);
        if (r >= 0)
                r = md_add(w, ",\"Xattrs\":", 10);
        if (r >= 0)
                r = hash_xattrs(w, m->xattrs);
        if (r >= 0 && m->type == '0')
                r = add_file_digest(w, m->known);
        return r < 0 ? r : md_add(w, "}\n", 2);
}

/* Meta of the inode at path (relative to the working directory, or absolute), which lstat
 * gave st; a symlink's target goes into link. */
static int meta_from_stat(const char *path, const struct stat *st, Meta *m, char link[PATH_MAX]) {
        ssize_t n;

        *m = (Meta) { .type = tree_typeflag(st->st_mode), .mode = st->st_mode, .uid = st->st_uid,
                      .gid = st->st_gid, .size = (uint64_t) st->st_size, .rdev = st->st_rdev,
                      .xattrs = path };
        if (m->type == 0)
                return -EBADMSG;
        if (m->type == '2') {
                n = readlink(path, link, PATH_MAX);
                if (n < 0)
                        return NEG_ERRNO();
                if (n >= PATH_MAX)
                        return -ENAMETOOLONG;
                m->link = link;
                m->link_len = (size_t) n;
        }
        return 0;
}

static int hash_dir(HashWalk *w, int parent_fd);

/* w->path names the entry, and so does w->name in the working directory (its parent). */
static int hash_entry(HashWalk *w, int parent_fd) {
        const char *name = w->path + w->root_len + 1, *first = NULL;
        char link[PATH_MAX];
        struct stat st;
        Meta m;
        int r;

        if (lstat(w->name, &st) < 0)
                return NEG_ERRNO();
        if (S_ISSOCK(st.st_mode))
                return 0;
        if (!S_ISDIR(st.st_mode) && st.st_nlink >= 2) {
                r = seen_before(w, st.st_dev, st.st_ino, name, &first);
                if (r < 0)
                        return r;
        }
        r = meta_from_stat(w->name, &st, &m, link);
        if (r < 0)
                return r;
        m.known = known_digest(w->known, name);
        if (first) {
                m.type = '1';
                m.link = first;
                m.link_len = strlen(first);
        }
        r = hash_record(w, name, &m);
        if (r < 0)
                return r;
        if (m.type == '5')
                return hash_dir(w, parent_fd);
        return 0;
}

static bool skipped_at_top(const char *name) {
        return strcmp(name, "manifest") == 0 || strcmp(name, "hash") == 0 ||
                strcmp(name, "rendered") == 0 || strcmp(name, "image") == 0;
}

static void free_names(char **names, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
}

/* The names in the directory open at fd, sorted bytewise. */
static int read_names(int fd, char ***ret, size_t *ret_n) {
        int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        DIR *d = dfd < 0 ? NULL : fdopendir(dfd);
        char **names = NULL;
        size_t n = 0, allocated = 0;
        struct dirent *de;
        int r = 0;

        if (!d) {
                r = NEG_ERRNO();
                if (dfd >= 0)
                        close(dfd);
                return r;
        }
        while ((errno = 0, de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (n == allocated) {
                        char **more = reallocarray(names, allocated * 2 + 16, sizeof(char *));
                        if (!more) {
                                r = -ENOMEM;
                                break;
                        }
                        names = more;
                        allocated = allocated * 2 + 16;
                }
                names[n] = strdup(de->d_name);
                if (!names[n]) {
                        r = -ENOMEM;
                        break;
                }
                n++;
        }
        if (r == 0 && errno != 0)
                r = NEG_ERRNO();
        closedir(d);
        if (r < 0) {
                free_names(names, n);
                return r;
        }
        if (n > 0)
                qsort(names, n, sizeof(char *), strcmp_ptr);
        *ret = names;
        *ret_n = n;
        return 0;
}

/* Walks the directory w->path (w->name in the working directory, or the tree dir itself)
 * from inside it: every lstat and xattr call then resolves one name, not the whole path.
 * Goes back to parent_fd on the way out. */
static int hash_dir(HashWalk *w, int parent_fd) {
        size_t len = strlen(w->path);
        bool top = len == w->root_len;
        _cleanup_close_ int fd = open(top ? w->path : w->name,
                                      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        char **names = NULL;
        size_t n = 0;
        int r;

        if (fd < 0)
                return NEG_ERRNO();
        if (fchdir(fd) < 0)
                return NEG_ERRNO();
        r = read_names(fd, &names, &n);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                if (top && skipped_at_top(names[i]))
                        continue;
                if (len + 1 + strlen(names[i]) >= sizeof(w->path)) {
                        r = -ENAMETOOLONG;
                        break;
                }
                w->path[len] = '/';
                strcpy(w->path + len + 1, names[i]);
                w->name = names[i];
                r = hash_entry(w, fd);
                w->path[len] = 0;
        }
        free_names(names, n);
        if (fchdir(parent_fd) < 0 && r >= 0)
                r = NEG_ERRNO();
        return r;
}

/* ---- the file digests, by a few threads ---- */

typedef struct DigestPool {
        HashWalk *walk;
        atomic_size_t next;
        atomic_int error;
} DigestPool;

/* Writes the digits into the records, where no NUL may go. */
static int digest_file(const char *path, bool legacy, char *hex) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
        _cleanup_free_ uint8_t *buf = NULL;
        unsigned char digest[EVP_MAX_MD_SIZE];
        EVP_MD_CTX *md = NULL;
        unsigned len = 0;
        ssize_t n = 0;
        int r = 0;

        if (fd < 0)
                return NEG_ERRNO();
        buf = malloc(HASH_BUFFER_SIZE);
        md = EVP_MD_CTX_new();
        if (!buf || !md || EVP_DigestInit_ex(md, legacy ? EVP_sha512() : EVP_sha256(), NULL) != 1)
                r = -ENOMEM;
        while (r >= 0 && (n = read(fd, buf, HASH_BUFFER_SIZE)) != 0) {
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        r = NEG_ERRNO();
                else if (EVP_DigestUpdate(md, buf, (size_t) n) != 1)
                        r = -EIO;
        }
        if (r >= 0 && (EVP_DigestFinal_ex(md, digest, &len) != 1 ||
                       len * 2 != (legacy ? LEGACY_DIGEST_HEX_LEN : DIGEST_HEX_LEN)))
                r = -EIO;
        EVP_MD_CTX_free(md);
        if (r >= 0) {
                char digits[LEGACY_DIGEST_HEX_LEN + 1];

                hex_encode(digest, len, digits);
                memcpy(hex, digits, 2 * len);
        }
        return r;
}

static void *digest_worker(void *userdata) {
        DigestPool *p = userdata;
        HashWalk *w = p->walk;

        for (;;) {
                size_t i = atomic_fetch_add(&p->next, 1);
                int r;

                if (i >= w->n_files || atomic_load(&p->error) != 0)
                        return NULL;
                r = digest_file(w->files[i].path, w->legacy, w->records + w->files[i].offset);
                if (r < 0)
                        atomic_store(&p->error, r);
        }
}

static int digest_files(HashWalk *w) {
        DigestPool pool = { .walk = w };
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        size_t n_threads = cpus < 1 ? 1 : cpus > HASH_THREADS_MAX ? HASH_THREADS_MAX : (size_t) cpus;
        pthread_t threads[HASH_THREADS_MAX];
        size_t started = 0;

        /* A render knows every file's digest: no thread to start for nothing. */
        if (w->n_files == 0)
                return 0;
        /* This thread works too; the others only help. */
        for (; started + 1 < n_threads; started++)
                if (pthread_create(&threads[started], NULL, digest_worker, &pool) != 0)
                        break;
        digest_worker(&pool);
        for (size_t i = 0; i < started; i++)
                pthread_join(threads[i], NULL);
        return atomic_load(&pool.error);
}

static void hash_walk_done(HashWalk *w) {
        free(w->records);
        for (size_t i = 0; i < w->n_files; i++)
                free(w->files[i].path);
        free(w->files);
        tdestroy(w->seen, seen_free);
}

static int records_digest(HashWalk *w, char ret[TREE_HASH_LEN + 1]) {
        unsigned char digest[EVP_MAX_MD_SIZE];
        unsigned len = 0;

        if (!EVP_Digest(w->records, w->n_records, digest, &len, EVP_sha512(), NULL) || len < 32)
                return -EIO;
        strcpy(ret, "sha512-");
        hex_encode(digest, 32, ret + 7);
        return 0;
}

/* ---- the nodes of a render ---- */

/* The walk's order (depth first, a directory before its entries, names compared bytewise)
 * is the order of whole paths compared with '/' below every other byte. */
static int cmp_walk_order(const char *a, const char *b) {
        int x, y;

        while (*a == *b && *a) {
                a++;
                b++;
        }
        x = *a == '/' ? 1 : *a ? (unsigned char) *a + 1 : 0;
        y = *b == '/' ? 1 : *b ? (unsigned char) *b + 1 : 0;
        return x < y ? -1 : x > y;
}

static int cmp_node(const void *a, const void *b) {
        return cmp_walk_order(((const TreeNode *) a)->path, ((const TreeNode *) b)->path);
}

static void sort_nodes(TreeNodes *n) {
        if (!n->sorted && n->n > 0)
                qsort(n->nodes, n->n, sizeof(TreeNode), cmp_node);
        n->sorted = true;
}

static const TreeNode *find_node(TreeNodes *n, const char *path) {
        TreeNode key = { .path = (char *) path };

        sort_nodes(n);
        return n->n == 0 ? NULL : bsearch(&key, n->nodes, n->n, sizeof(TreeNode), cmp_node);
}

/* Where a chain of hard links ends; NULL for a link to nothing recorded (or a loop). */
static const TreeNode *origin_of(TreeNodes *n, const TreeNode *nd) {
        for (size_t steps = 0; nd && nd->hardlink; steps++)
                nd = steps < n->n ? find_node(n, nd->hardlink) : NULL;
        return nd;
}

static const ContentDigest *known_digest(TreeNodes *nodes, const char *path) {
        const TreeNode *nd;

        if (!nodes)
                return NULL;
        nd = origin_of(nodes, find_node(nodes, path));
        return nd ? nd->content : NULL;
}

static int cmp_size(const void *a, const void *b) {
        size_t x = *(const size_t *) a, y = *(const size_t *) b;

        return x < y ? -1 : x > y;
}

/* The indexes of the nodes that something links to, sorted. */
static int linked_origins(TreeNodes *n, size_t **ret, size_t *ret_n) {
        size_t *linked = NULL, k = 0;

        for (size_t i = 0; i < n->n; i++) {
                const TreeNode *o;

                if (!n->nodes[i].hardlink)
                        continue;
                o = origin_of(n, &n->nodes[i]);
                if (!o) {
                        free(linked);
                        return -EBADMSG;
                }
                if (!linked) {
                        linked = calloc(n->n, sizeof(size_t));
                        if (!linked)
                                return -ENOMEM;
                }
                linked[k++] = (size_t) (o - n->nodes);
        }
        if (k > 0)
                qsort(linked, k, sizeof(size_t), cmp_size);
        *ret = linked;
        *ret_n = k;
        return 0;
}

/* The records of the nodes, as the walk would write them over the same tree: a node the
 * render could not know is read back (from_disk), a hard link is recorded as a link to the
 * first of its paths in walk order. */
static int hash_nodes(HashWalk *w, TreeNodes *nodes) {
        _cleanup_free_ size_t *linked = NULL;
        size_t n_linked = 0;
        int r;

        sort_nodes(nodes);
        r = linked_origins(nodes, &linked, &n_linked);
        for (size_t i = 0; r >= 0 && i < nodes->n; i++) {
                const TreeNode *nd = &nodes->nodes[i], *o = origin_of(nodes, nd);
                size_t index = o ? (size_t) (o - nodes->nodes) : 0;
                const char *first = NULL;
                char link[PATH_MAX];
                struct stat st;
                Meta m;

                if (!o || (i > 0 && cmp_node(nd, nd - 1) == 0))
                        return -EBADMSG;
                if (w->root_len + 1 + strlen(nd->path) >= sizeof(w->path))
                        return -ENAMETOOLONG;
                w->path[w->root_len] = '/';
                strcpy(w->path + w->root_len + 1, nd->path);
                if (n_linked > 0 && bsearch(&index, linked, n_linked, sizeof(size_t), cmp_size)) {
                        r = seen_before(w, 0, (ino_t) index, nd->path, &first);
                        if (r < 0)
                                return r;
                }
                if (o->from_disk) {
                        if (lstat(w->path, &st) < 0)
                                return NEG_ERRNO();
                        r = meta_from_stat(w->path, &st, &m, link);
                        if (r < 0)
                                return r;
                } else
                        m = (Meta) { .type = o->type, .mode = o->mode, .uid = o->uid, .gid = o->gid,
                                     .size = o->size, .link = o->symlink,
                                     .link_len = o->symlink ? strlen(o->symlink) : 0 };
                m.known = o->content;
                if (first) {
                        m.type = '1';
                        m.link = first;
                        m.link_len = strlen(first);
                }
                r = hash_record(w, nd->path, &m);
        }
        return r;
}

/* Records w's tree (the nodes, or a walk when nodes is NULL) and digests them. */
static int hash_tree(const char *dir, TreeNodes *known, TreeNodes *nodes, bool legacy,
                     char ret[TREE_HASH_LEN + 1]) {
        _cleanup_(hash_walk_done) HashWalk w = {};
        _cleanup_close_ int cwd = -EBADF;
        int r;

        w.known = known;
        w.legacy = legacy;
        w.root_len = strlen(dir);
        if (w.root_len + 2 >= sizeof(w.path))
                return -ENAMETOOLONG;
        strcpy(w.path, dir);
        if (nodes)
                r = hash_nodes(&w, nodes);
        else {
                /* The walk changes the working directory as it goes, and comes back here. */
                cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (cwd < 0)
                        return NEG_ERRNO();
                r = hash_dir(&w, cwd);
        }
        if (r < 0)
                return r;
        r = digest_files(&w);
        if (r < 0)
                return r;
        return records_digest(&w, ret);
}

int tree_hash(const char *dir, TreeNodes *known, char ret[TREE_HASH_LEN + 1]) {
        return hash_tree(dir, known, NULL, false, ret);
}

int tree_hash_nodes(const char *dir, TreeNodes *nodes, char ret[TREE_HASH_LEN + 1]) {
        return hash_tree(dir, nodes, nodes->incomplete ? NULL : nodes, false, ret);
}

int tree_hash_legacy(const char *dir, char ret[TREE_HASH_LEN + 1]) {
        return hash_tree(dir, NULL, NULL, true, ret);
}

void tree_nodes_done(TreeNodes *n) {
        for (size_t i = 0; i < n->n; i++) {
                free(n->nodes[i].path);
                free(n->nodes[i].hardlink);
                free(n->nodes[i].symlink);
                free(n->nodes[i].content);
        }
        free(n->nodes);
        *n = (TreeNodes) {};
}

TreeNode *tree_nodes_add(TreeNodes *n, const char *path) {
        TreeNode *nd;

        if (n->n == n->allocated) {
                size_t more = n->allocated ? n->allocated * 2 : 256;
                TreeNode *nodes = reallocarray(n->nodes, more, sizeof(TreeNode));

                if (!nodes)
                        return NULL;
                n->nodes = nodes;
                n->allocated = more;
        }
        nd = &n->nodes[n->n];
        *nd = (TreeNode) { .path = strdup(path) };
        if (!nd->path)
                return NULL;
        n->n++;
        n->sorted = false;
        return nd;
}
