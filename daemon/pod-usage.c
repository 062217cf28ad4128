/* Images and trees used by pods; see pod-usage.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "pod-state.h"
#include "pod-usage.h"

#define ID_FILE_MAX 256
#define POD_MANIFEST_READ_MAX (16u * 1024u * 1024u)

static int push(PodUse **v, size_t *n, const char *uuid, const char *id) {
        PodUse *a = realloc(*v, (*n + 1) * sizeof(PodUse));
        char *copy = strdup(id);

        if (a)
                *v = a;
        if (!a || !copy) {
                free(copy);
                return -ENOMEM;
        }
        a[*n].id = copy;
        snprintf(a[*n].pod, sizeof(a[*n].pod), "%s", uuid);
        (*n)++;
        return 0;
}

static void uses_free(PodUse *v, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(v[i].id);
        free(v);
}

void pod_usage_done(PodUsage *u) {
        uses_free(u->images, u->n_images);
        uses_free(u->trees, u->n_trees);
        *u = (PodUsage) {};
}

/* A one-line ID file of the pod ("stage1TreeStoreID"); 0 with ret[0] == 0 when absent. */
static int read_id_file(int dir_fd, const char *name, char ret[ID_FILE_MAX]) {
        _cleanup_close_ int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        ssize_t n;

        ret[0] = '\0';
        if (fd < 0)
                return errno == ENOENT ? 0 : NEG_ERRNO();
        n = read(fd, ret, ID_FILE_MAX - 1);
        if (n < 0)
                return NEG_ERRNO();
        ret[n] = '\0';
        ret[strcspn(ret, "\n")] = '\0';
        return 0;
}

static int add_tree(PodUsage *u, const char *uuid, const char *id) {
        return id[0] ? push(&u->trees, &u->n_trees, uuid, id) : 0;
}

static int add_image(PodUsage *u, const char *uuid, const char *id) {
        return push(&u->images, &u->n_images, uuid, id);
}

static int collect_manifest_images(PodUsage *u, const char *uuid, int dir_fd) {
        _cleanup_close_ int fd = openat(dir_fd, "pod", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        _cleanup_json_ json_object *m = NULL;
        json_object *apps;
        int r;

        if (fd < 0)
                return errno == ENOENT ? 0 : NEG_ERRNO();
        m = json_object_from_fd_ex(fd, 64);
        if (!m)
                return 0;  /* a half-written pod: its trees still count */
        if (!json_object_object_get_ex(m, "apps", &apps) || !json_object_is_type(apps, json_type_array))
                return 0;
        for (size_t i = 0; i < json_object_array_length(apps); i++) {
                json_object *img = json_object_object_get(json_object_array_get_idx(apps, i), "image");
                const char *id = json_object_get_string(json_object_object_get(img, "id"));

                if (id && (r = add_image(u, uuid, id)) < 0)
                        return r;
        }
        return 0;
}

static int collect_pod(PodUsage *u, const char *data_dir, const char *uuid, PodPlace place) {
        _cleanup_free_ char *path = pod_path(data_dir, place, uuid), *apps_path = NULL;
        _cleanup_close_ int fd = -EBADF;
        char id[ID_FILE_MAX];
        DIR *apps;
        struct dirent *de;
        int r;

        if (!path)
                return -ENOMEM;
        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? 0 : NEG_ERRNO();  /* moved meanwhile: gone or garbage */
        if ((r = read_id_file(fd, "stage1TreeStoreID", id)) < 0 ||
            (r = add_tree(u, uuid, id)) < 0 ||
            (r = collect_manifest_images(u, uuid, fd)) < 0)
                return r;
        if (asprintf(&apps_path, "%s/appsinfo", path) < 0)
                return -ENOMEM;
        apps = opendir(apps_path);
        if (!apps)
                return 0;
        while ((de = readdir(apps))) {
                _cleanup_free_ char *name = NULL;

                if (de->d_name[0] == '.')
                        continue;
                if (asprintf(&name, "appsinfo/%s/treeStoreID", de->d_name) < 0) {
                        r = -ENOMEM;
                        break;
                }
                if ((r = read_id_file(fd, name, id)) < 0 || (r = add_tree(u, uuid, id)) < 0)
                        break;
        }
        closedir(apps);
        return r < 0 ? r : 0;
}

int pod_usage_collect(const char *data_dir, PodUsage *ret) {
        PodUsage u = {};
        char **uuids = NULL;
        int r;

        r = pod_list(data_dir, &uuids);
        if (r < 0)
                return r;
        for (size_t i = 0; uuids[i] && r >= 0; i++) {
                PodState state;
                PodPlace place;

                r = pod_probe(data_dir, uuids[i], &state, &place);
                if (r == -ENOENT) {
                        r = 0;
                        continue;
                }
                if (r < 0 || state == POD_STATE_EXITED_GARBAGE || state == POD_STATE_GARBAGE ||
                    state == POD_STATE_DELETING)
                        continue;
                r = collect_pod(&u, data_dir, uuids[i], place);
        }
        for (size_t i = 0; uuids[i]; i++)
                free(uuids[i]);
        free(uuids);
        if (r < 0) {
                pod_usage_done(&u);
                return r;
        }
        *ret = u;
        return 0;
}

int pod_usage_image_pods(const PodUsage *u, const char *id, const char ***ret) {
        const char **l = calloc(u->n_images + 1, sizeof(char *));
        size_t n = 0, len = strlen(id);

        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < u->n_images; i++) {
                bool seen = false;

                if (strncmp(u->images[i].id, id, len) != 0)
                        continue;
                for (size_t j = 0; j < n; j++)
                        seen = seen || strcmp(l[j], u->images[i].pod) == 0;
                if (!seen)
                        l[n++] = u->images[i].pod;
        }
        *ret = l;
        return 0;
}

bool pod_usage_has_tree(const PodUsage *u, const char *tree_id) {
        for (size_t i = 0; i < u->n_trees; i++)
                if (strcmp(u->trees[i].id, tree_id) == 0)
                        return true;
        return false;
}
