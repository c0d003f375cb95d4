/* harness.c — process control for tests: free ports, a private redis-server with
 * the project's ACL users and the service binaries, all reaped on the test's exit. */
#include "harness.h"

#include <stdbool.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ls_client.h"
#include "ls_json.h"
#include "ls_taxonomy.h"

#ifndef LS_SOURCE_DIR
#error "LS_SOURCE_DIR must name the source tree (for deploy/make-redis-secrets)"
#endif

extern char **environ;

struct _ls_test_proc_t {
    pid_t pid;
    char name[64];
    char log[512];
    int exited;
    int status;
};

/* A port the kernel offers for a bind to port 0 right now. */
static int s_kernel_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&addr, sizeof addr) == 0 &&
        getsockname(fd, (struct sockaddr *)&addr, &len) == 0)
        port = ntohs(addr.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* The kernel may offer a port again once the probe socket is closed, so two
 * sockets of one test could get the same one: never hand out a port twice. */
int ls_test_free_port(void)
{
    static int handed[512];
    static size_t n_handed;
    for (int attempt = 0; attempt < 100; attempt++) {
        int port = s_kernel_port();
        bool seen = false;
        for (size_t i = 0; i < n_handed && !seen; i++)
            seen = handed[i] == port;
        if (port < 0 || seen)
            continue;
        if (n_handed < sizeof handed / sizeof handed[0])
            handed[n_handed++] = port;
        return port;
    }
    return -1;
}

char *ls_test_tmpdir(const char *prefix)
{
    char path[256];
    snprintf(path, sizeof path, "/tmp/%s-XXXXXX", prefix);
    return mkdtemp(path) ? strdup(path) : NULL;
}

static ls_test_proc_t *s_spawn(const char *name, const char *path, char *const argv[],
                               const char *const *env)
{
    ls_test_proc_t *p = calloc(1, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    snprintf(p->log, sizeof p->log, "/tmp/lodestone-test-%d-%s.log", (int)getpid(), name);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        free(p);
        return NULL;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int fd = open(p->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        for (const char *const *e = env; e && *e; e++)
            putenv((char *)*e);
        execv(path, argv);
        fprintf(stderr, "exec %s: %s\n", path, strerror(errno));
        _exit(127);
    }
    p->pid = pid;
    return p;
}

ls_test_proc_t *ls_test_spawn(const char *name, const char *path, const char *const *env)
{
    const char *valgrind = getenv("LS_TEST_VALGRIND");
    if (valgrind && *valgrind) {
        /* Exit status 99 when valgrind finds an error or a definite leak. */
        char *argv[] = {(char *)valgrind,
                        "--quiet",
                        "--error-exitcode=99",
                        "--leak-check=full",
                        "--errors-for-leak-kinds=definite,indirect",
                        (char *)path,
                        NULL};
        return s_spawn(name, valgrind, argv, env);
    }
    char *argv[] = {(char *)path, NULL};
    return s_spawn(name, path, argv, env);
}

/* ---------------------------------------------------------------------------
 * Redis with the ACL of deploy/make-redis-secrets */

/* Where each redis-server started here has its users' password files, by port
 * (a restart on the same port keeps them); own: made here, removed at exit. */
static struct {
    int port;
    bool own;
    char dir[256];
} s_secrets[32];
static size_t s_n_secrets;

static const char *s_secret_files[] = {"redis-registry.password",     "redis-matching.password",
                                       "redis-notification.password", "redis-admin.password",
                                       "redis-health.password",       "users.acl"};

static void s_remove_own_secrets(void)
{
    for (size_t i = 0; i < s_n_secrets; i++) {
        for (size_t f = 0; s_secrets[i].own && f < sizeof s_secret_files / sizeof(char *); f++) {
            char path[512];
            snprintf(path, sizeof path, "%s/%s", s_secrets[i].dir, s_secret_files[f]);
            unlink(path);
        }
        if (s_secrets[i].own)
            rmdir(s_secrets[i].dir);
    }
}

/* The directory of the password files of the redis-server on port: dir, or one of
 * its own. NULL when too many servers were started. */
static const char *s_secrets_dir(const char *dir, int port)
{
    size_t i = 0;
    while (i < s_n_secrets && s_secrets[i].port != port)
        i++;
    if (i == sizeof s_secrets / sizeof s_secrets[0])
        return NULL;
    if (s_n_secrets == 0)
        atexit(s_remove_own_secrets);
    if (i == s_n_secrets)
        s_n_secrets++;
    s_secrets[i].port = port;
    s_secrets[i].own = !dir;
    if (dir)
        snprintf(s_secrets[i].dir, sizeof s_secrets[i].dir, "%s", dir);
    else
        snprintf(s_secrets[i].dir, sizeof s_secrets[i].dir, "/tmp/lodestone-test-%d-redis-%d",
                 (int)getpid(), port);
    return s_secrets[i].dir;
}

/* Runs deploy/make-redis-secrets dir (it keeps existing passwords). 0 when it did. */
static int s_make_secrets(const char *dir)
{
    const char *script = LS_SOURCE_DIR "/deploy/make-redis-secrets";
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) { /* what it made; its errors stay on stderr */
            dup2(fd, 1);
            close(fd);
        }
        execl(script, script, dir, (char *)NULL);
        fprintf(stderr, "exec %s: %s\n", script, strerror(errno));
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* Reads the first line of a file into out (NUL-ended). 0 when it did. */
static int s_read_line(const char *path, char *out, size_t len)
{
    FILE *f = fopen(path, "r");
    int ok = f && fgets(out, (int)len, f);
    if (f)
        fclose(f);
    if (ok)
        out[strcspn(out, "\n")] = 0;
    return ok ? 0 : -1;
}

/* 0 when the redis-server on port answers PING for the admin user. */
static int s_redis_answers(int port, const char *password)
{
    redisContext *c = redisConnect("127.0.0.1", port);
    int ok = 0;
    if (c && !c->err) {
        redisReply *auth = redisCommand(c, "AUTH admin %s", password);
        redisReply *ping = auth ? redisCommand(c, "PING") : NULL;
        ok = auth && auth->type == REDIS_REPLY_STATUS && ping && ping->type == REDIS_REPLY_STATUS;
        if (auth)
            freeReplyObject(auth);
        if (ping)
            freeReplyObject(ping);
    }
    if (c)
        redisFree(c);
    return ok ? 0 : -1;
}

static int s_url_port(const char *url)
{
    const char *colon = strrchr(url, ':');
    return colon ? atoi(colon + 1) : -1;
}

void ls_test_redis_password_file(const char *url, const char *user, char *path, size_t len)
{
    int port = s_url_port(url);
    size_t i = 0;
    while (i < s_n_secrets && s_secrets[i].port != port)
        i++;
    if (i == s_n_secrets)
        fail_msg("no redis-server of this test has the URL %s", url);
    snprintf(path, len, "%s/redis-%s.password", s_secrets[i].dir, user);
}

ls_store_t *ls_test_store_flushed(const char *url)
{
    char err[256] = "";
    ls_store_t *store = ls_store_new(url, 2000, err, sizeof err);
    if (!store)
        fail_msg("cannot connect to %s: %s", url, err);
    redisReply *reply = ls_store_command(store, "FLUSHALL");
    bool flushed = reply && reply->type == REDIS_REPLY_STATUS;
    if (reply)
        freeReplyObject(reply);
    if (!flushed)
        fail_msg("FLUSHALL failed: %s", ls_store_error(store));
    return store;
}

ls_test_proc_t *ls_test_redis_start(const char *dir, char *url, size_t urllen)
{
    return ls_test_redis_start_at(dir, ls_test_free_port(), url, urllen);
}

ls_test_proc_t *ls_test_redis_start_at(const char *dir, int port, char *url, size_t urllen)
{
    const char *secrets = s_secrets_dir(dir, port);
    char acl[512], admin[512], password[256], port_text[16];
    snprintf(acl, sizeof acl, "%s/users.acl", secrets ? secrets : "");
    snprintf(admin, sizeof admin, "%s/redis-admin.password", secrets ? secrets : "");
    if (!secrets || s_make_secrets(secrets) || s_read_line(admin, password, sizeof password)) {
        fprintf(stderr, "cannot make the Redis users in %s\n", secrets ? secrets : "(too many)");
        return NULL;
    }
    int n = snprintf(url, urllen, "redis://admin:%s@127.0.0.1:%d", password, port);
    if (n < 0 || (size_t)n >= urllen) {
        fprintf(stderr, "the Redis URL does not fit in %zu bytes\n", urllen);
        return NULL;
    }
    snprintf(port_text, sizeof port_text, "%d", port);
    char *argv_mem[] = {LS_TEST_REDIS_SERVER,
                        "--port",
                        port_text,
                        "--bind",
                        "127.0.0.1",
                        "--aclfile",
                        acl,
                        "--save",
                        "",
                        "--appendonly",
                        dir ? "yes" : "no",
                        "--dir",
                        (char *)(dir ? dir : "/tmp"),
                        "--daemonize",
                        "no",
                        NULL};
    ls_test_proc_t *p = s_spawn(dir ? "redis-aof" : "redis", LS_TEST_REDIS_SERVER, argv_mem, NULL);
    for (int i = 0; p && i < 200; i++) {
        if (s_redis_answers(port, password) == 0)
            return p;
        usleep(25 * 1000);
    }
    if (p) {
        ls_test_dump_log(p);
        ls_test_kill(&p);
    }
    return NULL;
}

static int s_reap(ls_test_proc_t *p, int wait_ms)
{
    for (int waited = 0; !p->exited; waited += 10) {
        pid_t r = waitpid(p->pid, &p->status, WNOHANG);
        if (r == p->pid || (r < 0 && errno == ECHILD))
            p->exited = 1;
        else if (waited >= wait_ms)
            return -1;
        else
            usleep(10 * 1000);
    }
    return 0;
}

int ls_test_stop(ls_test_proc_t **p_p)
{
    if (!p_p || !*p_p)
        return -1;
    ls_test_proc_t *p = *p_p;
    if (!p->exited) {
        kill(p->pid, SIGTERM);
        if (s_reap(p, 30000)) {
            fprintf(stderr, "%s did not stop on SIGTERM within 30 s; killing\n", p->name);
            kill(p->pid, SIGKILL);
            s_reap(p, 5000);
        }
    }
    int status = p->status;
    free(p);
    *p_p = NULL;
    return status;
}

void ls_test_kill(ls_test_proc_t **p_p)
{
    if (!p_p || !*p_p)
        return;
    ls_test_proc_t *p = *p_p;
    if (!p->exited) {
        kill(p->pid, SIGKILL);
        s_reap(p, 5000);
    }
    free(p);
    *p_p = NULL;
}

pid_t ls_test_pid(const ls_test_proc_t *p)
{
    return p->pid;
}

int ls_test_alive(ls_test_proc_t *p)
{
    return s_reap(p, 0) != 0;
}

void ls_test_dump_log(const ls_test_proc_t *p)
{
    FILE *f = fopen(p->log, "r");
    if (!f)
        return;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, size > 4000 ? size - 4000 : 0, SEEK_SET);
    fprintf(stderr, "---- last lines of %s (%s) ----\n", p->name, p->log);
    char buf[512];
    while (fgets(buf, sizeof buf, f))
        fputs(buf, stderr);
    fclose(f);
}

char *ls_test_log_text(const ls_test_proc_t *p)
{
    FILE *f = fopen(p->log, "r");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = calloc(1, (size_t)(size > 0 ? size : 0) + 1);
    if (text && size > 0)
        text[fread(text, 1, (size_t)size, f)] = 0;
    fclose(f);
    return text;
}

void ls_test_env_set(ls_test_env_t *env, const char *name, const char *value)
{
    assert_true(env->count < 48);
    snprintf(env->text[env->count], sizeof env->text[0], "%s=%s", name, value);
    env->env[env->count] = env->text[env->count];
    env->count++;
    env->env[env->count] = NULL;
}

void ls_test_env_copy(ls_test_env_t *to, const ls_test_env_t *from)
{
    *to = *from;
    for (int k = 0; k < to->count; k++)
        to->env[k] = to->text[k];
    to->env[to->count] = NULL;
}

void ls_test_env_redis(ls_test_env_t *env, const char *url, const char *service)
{
    /* Sized so that "NAME=value" fits an environment entry. */
    char service_url[96], file[160];
    snprintf(service_url, sizeof service_url, "redis://%.40s@127.0.0.1:%d/0", service,
             s_url_port(url));
    ls_test_env_set(env, "LODESTONE_REDIS_URL", service_url);
    ls_test_redis_password_file(url, service, file, sizeof file);
    ls_test_env_set(env, "LODESTONE_REDIS_PASSWORD_FILE", file);
}

void ls_test_env_socket(ls_test_env_t *env, const char *stem, char *address, size_t len)
{
    snprintf(address, len, "tcp://127.0.0.1:%d", ls_test_free_port());
    char name[80];
    snprintf(name, sizeof name, "LODESTONE_%s_BIND", stem);
    ls_test_env_set(env, name, address);
    snprintf(name, sizeof name, "LODESTONE_%s_ENDPOINT", stem);
    ls_test_env_set(env, name, address);
}

int ls_test_await_ping(const char *endpoint)
{
    for (int i = 0; i < 50; i++) {
        ls_client_t *client = ls_client_new(endpoint, 200);
        ls_reply_pb *reply = client ? ls_client_ping(client) : NULL;
        ls_client_destroy(&client);
        if (reply) {
            int ok = reply->body_case == LODESTONE__V1__REPLY__BODY_PONG;
            lodestone__v1__reply__free_unpacked(reply, NULL);
            if (ok)
                return 0;
        }
    }
    return -1;
}

int ls_test_run(const char *command, char *out, size_t len)
{
    FILE *pipe = popen(command, "r");
    assert_non_null(pipe);
    size_t n = fread(out, 1, len - 1, pipe);
    out[n] = 0;
    int status = pclose(pipe);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

char *ls_test_long_text(size_t size)
{
    char *text = malloc(size + 1);
    assert_non_null(text);
    memset(text, 'x', size);
    text[size] = 0;
    return text;
}

static void s_grow(json_t *root, const char *key, size_t size)
{
    json_t *body = json_object_iter_value(json_object_iter(root));
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)strcspn(key, "["), key);
    char *text = ls_test_long_text(size);
    json_t *value;
    if (strchr(key, '[')) {
        value = json_pack("[s]", text);
    } else if (json_is_array(json_object_get(body, name))) {
        value = json_array();
        for (size_t i = 0; i < size; i++) {
            char item[32];
            snprintf(item, sizeof item, "item-%zu", i);
            json_array_append_new(value, json_string(item));
        }
    } else
        value = json_string(text);
    free(text);
    json_object_set_new(body, name, value);
}

ls_entity_pb *ls_test_entity(const char *text, const char *key, size_t size)
{
    json_error_t jerr;
    json_t *json = json_loads(text, 0, &jerr);
    if (!json)
        fail_msg("bad JSON in the test (%s): %s", jerr.text, text);
    if (key)
        s_grow(json, key, size);
    char err[256];
    ls_entity_pb *entity = (ls_entity_pb *)ls_json_to_message(&lodestone__v1__entity__descriptor,
                                                              json, err, sizeof err);
    json_decref(json);
    if (!entity)
        fail_msg("the test's entity does not convert: %s", err);
    return entity;
}

ls_taxonomy_t *ls_test_taxonomy(void)
{
    char err[512];
    ls_taxonomy_t *taxonomy = ls_taxonomy_load(LS_TEST_DATA_DIR, err, sizeof err);
    if (!taxonomy)
        fprintf(stderr, "taxonomy %s: %s\n", LS_TEST_DATA_DIR, err);
    return taxonomy;
}
