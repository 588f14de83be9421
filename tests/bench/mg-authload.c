/* mg-authload: drives Dovecot's auth process the way login processes and
   the post-login side do, with no IMAP process in the way.

   One connection to a login-type auth socket (login/login or auth-login)
   sends "AUTH <id> PLAIN service=imap ... resp=<base64>" for a random user
   from a list; an OK without nologin is followed, on the auth-master
   socket, by "REQUEST <id> <client pid> <id> <cookie>", which runs the
   userdb lookup a login's post-login step runs. N requests are kept in
   flight. At the end it prints logins/s, latency percentiles and the
   count of each outcome. Built only for `make bench`.

   The users file holds one "name<TAB>password" line per user. Passwords
   are never printed. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <glib.h>
#include <glib-unix.h>

/* the protocol versions Dovecot 2.3 speaks on these sockets */
#define CLIENT_PROTOCOL_MAJOR 1
#define CLIENT_PROTOCOL_MINOR 2
#define MASTER_PROTOCOL_MAJOR 1
#define MASTER_PROTOCOL_MINOR 1

#define READ_CHUNK 65536
#define USEC_PER_SEC 1000000.0

struct line_conn;
typedef void line_handler_t(struct line_conn *conn, char **fields,
			    gpointer data);

/* A unix socket spoken to in tab-separated lines, without blocking. */
struct line_conn {
	const char *name;
	int fd;
	guint in_tag;
	guint out_tag;
	GString *in;
	GString *out;
	line_handler_t *handler;
	gpointer data;
};

struct authload_options {
	char *login_path;
	char *master_path;
	char *users_path;
	char *service;
	int concurrency;
	double duration;
	gint64 count;
	double timeout;
	gint64 seed;
	gboolean json;
};

struct authload_user {
	char *name;
	/* base64 of "\0name\0password", the PLAIN initial response */
	char *plain_b64;
};

struct authload_request {
	guint id;
	guint user;
	gint64 started_us;
};

struct authload_counts {
	guint64 ok;
	guint64 refused;
	guint64 fail;
	guint64 tempfail;
	guint64 userdb_notfound;
	guint64 userdb_fail;
};

struct authload {
	struct authload_options opt;
	GPtrArray *users;
	GRand *rand;
	struct line_conn login;
	struct line_conn master;
	guint cpid;
	char *cookie;
	gboolean login_ready;
	gboolean master_ready;
	gboolean running;
	GHashTable *pending;
	guint next_id;
	gint64 issued;
	gint64 start_us;
	gint64 deadline_us;
	gint64 last_done_us;
	/* the last OK or refusal: a stalled tail shows as the gap to the end */
	gint64 last_answer_us;
	struct authload_counts counts;
	GArray *latencies_us;
	GMainLoop *loop;
	guint watchdog_tag;
	int exit_code;
	char *error;
};

static void authload_fail(struct authload *load, const char *fmt, ...)
	G_GNUC_PRINTF(2, 3);

static void authload_fail(struct authload *load, const char *fmt, ...)
{
	va_list args;

	if (load->error == NULL) {
		va_start(args, fmt);
		load->error = g_strdup_vprintf(fmt, args);
		va_end(args);
	}
	load->exit_code = 2;
	g_main_loop_quit(load->loop);
}

/* ------------------------------------------------------------------ */
/* line connections                                                    */
/* ------------------------------------------------------------------ */

static int unix_connect(const char *path, char **error_r)
{
	struct sockaddr_un sa;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		*error_r = g_strdup_printf("%s: path too long", path);
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*error_r = g_strdup_printf("socket(): %s", g_strerror(errno));
		return -1;
	}
	if (connect(fd, (const void *)&sa, sizeof(sa)) < 0) {
		*error_r = g_strdup_printf("connect(%s): %s", path,
					   g_strerror(errno));
		close(fd);
		return -1;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		*error_r = g_strdup_printf("fcntl(%s): %s", path,
					   g_strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static gboolean line_conn_writable(gint fd, GIOCondition cond, gpointer data);

/* Writes what it can now; the rest goes when the socket takes it. */
static int line_conn_flush(struct line_conn *conn)
{
	while (conn->out->len > 0) {
		ssize_t n = send(conn->fd, conn->out->str, conn->out->len,
				 MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0)
			return -1;
		g_string_erase(conn->out, 0, n);
	}
	if (conn->out->len > 0 && conn->out_tag == 0) {
		conn->out_tag = g_unix_fd_add(conn->fd, G_IO_OUT,
					      line_conn_writable, conn);
	}
	return 0;
}

static gboolean line_conn_writable(gint fd G_GNUC_UNUSED,
				   GIOCondition cond G_GNUC_UNUSED,
				   gpointer data)
{
	struct line_conn *conn = data;

	conn->out_tag = 0;
	if (line_conn_flush(conn) < 0) {
		struct authload *load = conn->data;

		authload_fail(load, "%s: write failed: %s", conn->name,
			      g_strerror(errno));
	}
	return G_SOURCE_REMOVE;
}

static void line_conn_send(struct line_conn *conn, const char *line)
{
	g_string_append(conn->out, line);
	g_string_append_c(conn->out, '\n');
	if (conn->out_tag != 0)
		return;
	if (line_conn_flush(conn) < 0) {
		authload_fail(conn->data, "%s: write failed: %s", conn->name,
			      g_strerror(errno));
	}
}

static void line_conn_dispatch(struct line_conn *conn)
{
	char *start = conn->in->str, *nl;
	gsize used = 0;

	while ((nl = memchr(start + used, '\n',
			    conn->in->len - used)) != NULL) {
		char **fields;

		*nl = '\0';
		fields = g_strsplit(start + used, "\t", -1);
		conn->handler(conn, fields, conn->data);
		g_strfreev(fields);
		used = nl + 1 - start;
	}
	g_string_erase(conn->in, 0, used);
}

static gboolean line_conn_readable(gint fd G_GNUC_UNUSED,
				   GIOCondition cond G_GNUC_UNUSED,
				   gpointer data)
{
	struct line_conn *conn = data;
	char buf[READ_CHUNK];
	ssize_t n;

	n = recv(conn->fd, buf, sizeof(buf), 0);
	if (n < 0 && (errno == EINTR || errno == EAGAIN ||
		      errno == EWOULDBLOCK))
		return G_SOURCE_CONTINUE;
	if (n <= 0) {
		conn->in_tag = 0;
		authload_fail(conn->data, "%s: %s", conn->name,
			      n == 0 ? "the auth process closed the "
			      "connection" : g_strerror(errno));
		return G_SOURCE_REMOVE;
	}
	g_string_append_len(conn->in, buf, n);
	line_conn_dispatch(conn);
	return G_SOURCE_CONTINUE;
}

static int line_conn_open(struct line_conn *conn, const char *name,
			  const char *path, line_handler_t *handler,
			  gpointer data, char **error_r)
{
	conn->name = name;
	conn->handler = handler;
	conn->data = data;
	conn->in = g_string_sized_new(READ_CHUNK);
	conn->out = g_string_sized_new(READ_CHUNK);
	conn->fd = unix_connect(path, error_r);
	if (conn->fd < 0)
		return -1;
	conn->in_tag = g_unix_fd_add(conn->fd, G_IO_IN | G_IO_HUP | G_IO_ERR,
				     line_conn_readable, conn);
	return 0;
}

static void line_conn_close(struct line_conn *conn)
{
	if (conn->in_tag != 0)
		g_source_remove(conn->in_tag);
	if (conn->out_tag != 0)
		g_source_remove(conn->out_tag);
	if (conn->fd >= 0)
		close(conn->fd);
	if (conn->in != NULL)
		g_string_free(conn->in, TRUE);
	if (conn->out != NULL)
		g_string_free(conn->out, TRUE);
	memset(conn, 0, sizeof(*conn));
	conn->fd = -1;
}

/* ------------------------------------------------------------------ */
/* users                                                               */
/* ------------------------------------------------------------------ */

static void authload_user_free(gpointer data)
{
	struct authload_user *user = data;

	g_free(user->name);
	if (user->plain_b64 != NULL) {
		memset(user->plain_b64, 0, strlen(user->plain_b64));
		g_free(user->plain_b64);
	}
	g_free(user);
}

static struct authload_user *user_from_line(const char *line)
{
	const char *tab = strchr(line, '\t');
	struct authload_user *user;
	GString *plain;

	if (tab == NULL || tab == line)
		return NULL;
	user = g_new0(struct authload_user, 1);
	user->name = g_strndup(line, tab - line);
	plain = g_string_new(NULL);
	g_string_append_c(plain, '\0');
	g_string_append(plain, user->name);
	g_string_append_c(plain, '\0');
	g_string_append(plain, tab + 1);
	user->plain_b64 = g_base64_encode((const guchar *)plain->str,
					  plain->len);
	memset(plain->str, 0, plain->len);
	g_string_free(plain, TRUE);
	return user;
}

static GPtrArray *users_read(const char *path, char **error_r)
{
	GPtrArray *users;
	GError *error = NULL;
	char *text, **lines;

	if (!g_file_get_contents(path, &text, NULL, &error)) {
		*error_r = g_strdup(error->message);
		g_error_free(error);
		return NULL;
	}
	users = g_ptr_array_new_with_free_func(authload_user_free);
	lines = g_strsplit(text, "\n", -1);
	for (char **l = lines; *l != NULL; l++) {
		struct authload_user *user;

		g_strchomp(*l);
		if (**l == '\0' || **l == '#')
			continue;
		user = user_from_line(*l);
		if (user == NULL) {
			*error_r = g_strdup_printf("%s: a line without "
						   "name<TAB>password", path);
			g_ptr_array_unref(users);
			users = NULL;
			break;
		}
		g_ptr_array_add(users, user);
	}
	memset(text, 0, strlen(text));
	g_free(text);
	g_strfreev(lines);
	if (users != NULL && users->len == 0) {
		*error_r = g_strdup_printf("%s: no users", path);
		g_ptr_array_unref(users);
		return NULL;
	}
	return users;
}

/* ------------------------------------------------------------------ */
/* requests                                                            */
/* ------------------------------------------------------------------ */

static gboolean authload_may_issue(const struct authload *load)
{
	if (!load->running)
		return FALSE;
	if (load->opt.count > 0)
		return load->issued < load->opt.count;
	return g_get_monotonic_time() < load->deadline_us;
}

static void authload_issue(struct authload *load)
{
	struct authload_request *req = g_new0(struct authload_request, 1);
	const struct authload_user *user;
	guint32 r = g_rand_int(load->rand);
	char *line;

	req->id = ++load->next_id;
	if (req->id == 0)
		req->id = ++load->next_id;
	req->user = g_rand_int_range(load->rand, 0, load->users->len);
	user = g_ptr_array_index(load->users, req->user);
	req->started_us = g_get_monotonic_time();
	g_hash_table_insert(load->pending, GUINT_TO_POINTER(req->id), req);
	load->issued++;
	/* a fresh client address and port for each login, as from many
	   clients: Dovecot keys its failure penalty on the address */
	line = g_strdup_printf("AUTH\t%u\tPLAIN\tservice=%s\tsession=mgb%u"
			       "\tlip=127.0.0.1\trip=127.%u.%u.%u\tlport=143"
			       "\trport=%u\tresp=%s", req->id,
			       load->opt.service, req->id,
			       20 + (r & 0x7f), (r >> 7) & 0xff,
			       1 + ((r >> 15) % 250), 1024 + (r >> 17) % 60000,
			       user->plain_b64);
	line_conn_send(&load->login, line);
	memset(line, 0, strlen(line));
	g_free(line);
}

static void authload_fill(struct authload *load)
{
	while ((int)g_hash_table_size(load->pending) < load->opt.concurrency &&
	       authload_may_issue(load))
		authload_issue(load);
	if (g_hash_table_size(load->pending) == 0)
		g_main_loop_quit(load->loop);
}

static void authload_done(struct authload *load, struct authload_request *req,
			  guint64 *counter)
{
	gint64 now = g_get_monotonic_time();
	gint64 latency = now - req->started_us;

	(*counter)++;
	g_array_append_val(load->latencies_us, latency);
	load->last_done_us = now;
	if (counter == &load->counts.ok || counter == &load->counts.refused)
		load->last_answer_us = now;
	g_hash_table_remove(load->pending, GUINT_TO_POINTER(req->id));
	authload_fill(load);
}

static struct authload_request *authload_find(struct authload *load,
					      struct line_conn *conn,
					      char **fields)
{
	struct authload_request *req;
	guint64 id;

	if (fields[1] == NULL ||
	    !g_ascii_string_to_unsigned(fields[1], 10, 1, G_MAXUINT, &id,
					NULL)) {
		authload_fail(load, "%s: a reply without an id: %s",
			      conn->name, fields[0]);
		return NULL;
	}
	req = g_hash_table_lookup(load->pending, GUINT_TO_POINTER((guint)id));
	if (req == NULL)
		authload_fail(load, "%s: a reply for unknown id %"
			      G_GUINT64_FORMAT, conn->name, id);
	return req;
}

static gboolean fields_have(char **fields, const char *key)
{
	gsize len = strlen(key);

	for (char **f = fields; *f != NULL; f++) {
		if (strncmp(*f, key, len) == 0 &&
		    ((*f)[len] == '\0' || (*f)[len] == '='))
			return TRUE;
	}
	return FALSE;
}

static gboolean fields_have_value(char **fields, const char *field)
{
	for (char **f = fields; *f != NULL; f++) {
		if (strcmp(*f, field) == 0)
			return TRUE;
	}
	return FALSE;
}

/* OK without nologin: ask for the userdb as the post-login side does. */
static void authload_request_userdb(struct authload *load,
				    struct authload_request *req)
{
	char *line = g_strdup_printf("REQUEST\t%u\t%u\t%u\t%s\tsession_pid=%u",
				     req->id, load->cpid, req->id,
				     load->cookie, (guint)getpid());

	line_conn_send(&load->master, line);
	g_free(line);
}

static void authload_login_reply(struct authload *load, struct line_conn *conn,
				 char **fields)
{
	struct authload_request *req;

	if (strcmp(fields[0], "OK") != 0 && strcmp(fields[0], "FAIL") != 0) {
		authload_fail(load, "%s: unexpected reply %s (the mechanism "
			      "wanted more than an initial response?)",
			      conn->name, fields[0]);
		return;
	}
	req = authload_find(load, conn, fields);
	if (req == NULL)
		return;
	if (strcmp(fields[0], "FAIL") == 0) {
		authload_done(load, req,
			      fields_have_value(fields, "code=temp_fail") ?
			      &load->counts.tempfail : &load->counts.fail);
	} else if (fields_have(fields, "nologin") ||
		   fields_have(fields, "proxy")) {
		authload_done(load, req, &load->counts.refused);
	} else {
		authload_request_userdb(load, req);
	}
}

/* VERSION, MECH, SPID, CUID, COOKIE, DONE; then replies. */
static void authload_login_line(struct line_conn *conn, char **fields,
				gpointer data)
{
	struct authload *load = data;

	if (load->login_ready) {
		authload_login_reply(load, conn, fields);
		return;
	}
	if (strcmp(fields[0], "VERSION") == 0) {
		if (fields[1] == NULL ||
		    atoi(fields[1]) != CLIENT_PROTOCOL_MAJOR) {
			authload_fail(load, "%s: protocol version %s, not %d",
				      conn->name, fields[1] ? fields[1] : "?",
				      CLIENT_PROTOCOL_MAJOR);
		}
	} else if (strcmp(fields[0], "COOKIE") == 0 && fields[1] != NULL) {
		g_free(load->cookie);
		load->cookie = g_strdup(fields[1]);
	} else if (strcmp(fields[0], "DONE") == 0) {
		if (load->cookie == NULL) {
			authload_fail(load, "%s: no COOKIE in the handshake",
				      conn->name);
			return;
		}
		load->login_ready = TRUE;
		if (load->master_ready)
			g_main_loop_quit(load->loop);
	}
}

static void authload_master_line(struct line_conn *conn, char **fields,
				 gpointer data)
{
	struct authload *load = data;
	struct authload_request *req;

	if (!load->master_ready) {
		if (strcmp(fields[0], "SPID") == 0) {
			load->master_ready = TRUE;
			if (load->login_ready)
				g_main_loop_quit(load->loop);
		}
		return;
	}
	req = authload_find(load, conn, fields);
	if (req == NULL)
		return;
	if (strcmp(fields[0], "USER") == 0)
		authload_done(load, req, &load->counts.ok);
	else if (strcmp(fields[0], "NOTFOUND") == 0)
		authload_done(load, req, &load->counts.userdb_notfound);
	else if (strcmp(fields[0], "FAIL") == 0)
		authload_done(load, req, &load->counts.userdb_fail);
	else
		authload_fail(load, "%s: unexpected reply %s", conn->name,
			      fields[0]);
}

/* ------------------------------------------------------------------ */
/* the run                                                             */
/* ------------------------------------------------------------------ */

static gboolean authload_watchdog(gpointer data)
{
	struct authload *load = data;

	load->watchdog_tag = 0;
	authload_fail(load, "timed out with %u requests unanswered",
		      g_hash_table_size(load->pending));
	return G_SOURCE_REMOVE;
}

static gboolean authload_signal(gpointer data)
{
	struct authload *load = data;

	authload_fail(load, "interrupted");
	return G_SOURCE_CONTINUE;
}

static int authload_connect(struct authload *load, char **error_r)
{
	char *hello;

	/* a client pid above pid_max: never one of a real login process */
	load->cpid = 0x40000000u | (guint)getpid();
	if (line_conn_open(&load->login, "login socket", load->opt.login_path,
			   authload_login_line, load, error_r) < 0)
		return -1;
	if (line_conn_open(&load->master, "master socket",
			   load->opt.master_path, authload_master_line, load,
			   error_r) < 0)
		return -1;
	hello = g_strdup_printf("VERSION\t%d\t%d\nCPID\t%u",
				CLIENT_PROTOCOL_MAJOR, CLIENT_PROTOCOL_MINOR,
				load->cpid);
	line_conn_send(&load->login, hello);
	g_free(hello);
	hello = g_strdup_printf("VERSION\t%d\t%d", MASTER_PROTOCOL_MAJOR,
				MASTER_PROTOCOL_MINOR);
	line_conn_send(&load->master, hello);
	g_free(hello);
	return 0;
}

static void authload_run(struct authload *load)
{
	double limit = load->opt.timeout;

	/* the handshakes first: the loop quits once both are done */
	load->watchdog_tag = g_timeout_add(10000, authload_watchdog, load);
	g_main_loop_run(load->loop);
	if (load->exit_code != 0)
		return;
	g_source_remove(load->watchdog_tag);
	if (load->opt.count == 0)
		limit += load->opt.duration;
	load->watchdog_tag = g_timeout_add((guint)(limit * 1000),
					   authload_watchdog, load);
	load->running = TRUE;
	load->start_us = g_get_monotonic_time();
	load->last_done_us = load->start_us;
	load->deadline_us = load->start_us +
		(gint64)(load->opt.duration * USEC_PER_SEC);
	authload_fill(load);
	g_main_loop_run(load->loop);
	load->running = FALSE;
	if (load->watchdog_tag != 0)
		g_source_remove(load->watchdog_tag);
	load->watchdog_tag = 0;
}

/* ------------------------------------------------------------------ */
/* the report                                                          */
/* ------------------------------------------------------------------ */

static gint compare_gint64(gconstpointer a, gconstpointer b)
{
	gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;

	return x < y ? -1 : x > y;
}

/* nearest rank, in milliseconds */
static double percentile_ms(GArray *sorted, double p)
{
	guint rank;

	if (sorted->len == 0)
		return 0;
	rank = (guint)(p / 100.0 * sorted->len + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > sorted->len)
		rank = sorted->len;
	return g_array_index(sorted, gint64, rank - 1) / 1000.0;
}

static double client_cpu_seconds(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return 0;
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
		(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / USEC_PER_SEC;
}

/* a JSON string, quoted, or null */
static char *json_string(const char *s)
{
	GString *out;

	if (s == NULL)
		return g_strdup("null");
	out = g_string_new("\"");
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			g_string_append_printf(out, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			g_string_append_printf(out, "\\u%04x", *s);
		else
			g_string_append_c(out, *s);
	}
	g_string_append_c(out, '"');
	return g_string_free(out, FALSE);
}

static void authload_report(struct authload *load)
{
	const struct authload_counts *c = &load->counts;
	guint64 done = c->ok + c->refused + c->fail + c->tempfail +
		c->userdb_notfound + c->userdb_fail;
	double secs = (load->last_done_us - load->start_us) / USEC_PER_SEC;
	double rate = secs > 0 ? done / secs : 0;
	double answer_secs = (load->last_answer_us - load->start_us) /
		USEC_PER_SEC;
	double answer_rate = answer_secs > 0 ?
		(c->ok + c->refused) / answer_secs : 0;
	double p50, p90, p99, max;

	g_array_sort(load->latencies_us, compare_gint64);
	p50 = percentile_ms(load->latencies_us, 50);
	p90 = percentile_ms(load->latencies_us, 90);
	p99 = percentile_ms(load->latencies_us, 99);
	max = percentile_ms(load->latencies_us, 100);
	if (load->opt.json) {
		char *error = json_string(load->error);

		printf("{\"logins\": %" G_GUINT64_FORMAT ", \"seconds\": %.4f, "
		       "\"per_second\": %.1f, \"answered_per_second\": %.1f, "
		       "\"concurrency\": %d, "
		       "\"ok\": %" G_GUINT64_FORMAT ", \"refused\": %"
		       G_GUINT64_FORMAT ", \"fail\": %" G_GUINT64_FORMAT
		       ", \"tempfail\": %" G_GUINT64_FORMAT
		       ", \"userdb_notfound\": %" G_GUINT64_FORMAT
		       ", \"userdb_fail\": %" G_GUINT64_FORMAT
		       ", \"unanswered\": %u, \"p50_ms\": %.3f, "
		       "\"p90_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.3f, "
		       "\"client_cpu_s\": %.3f, \"error\": %s}\n",
		       done, secs, rate, answer_rate, load->opt.concurrency,
		       c->ok, c->refused, c->fail, c->tempfail,
		       c->userdb_notfound, c->userdb_fail,
		       g_hash_table_size(load->pending),
		       p50, p90, p99, max, client_cpu_seconds(), error);
		g_free(error);
		return;
	}
	printf("logins        %" G_GUINT64_FORMAT " in %.2f s: %.1f/s "
	       "(concurrency %d)\n", done, secs, rate, load->opt.concurrency);
	printf("OK            %" G_GUINT64_FORMAT "\n", c->ok);
	printf("refused       %" G_GUINT64_FORMAT " (OK with nologin)\n",
	       c->refused);
	printf("FAIL          %" G_GUINT64_FORMAT " (+ %" G_GUINT64_FORMAT
	       " userdb NOTFOUND)\n", c->fail, c->userdb_notfound);
	printf("tempfail      %" G_GUINT64_FORMAT " (+ %" G_GUINT64_FORMAT
	       " userdb FAIL)\n", c->tempfail, c->userdb_fail);
	printf("OK+refused/s  %.1f (up to the last of them)\n", answer_rate);
	printf("latency ms    p50 %.3f  p90 %.3f  p99 %.3f  max %.3f\n",
	       p50, p90, p99, max);
	if (load->error != NULL)
		printf("error         %s\n", load->error);
}

/* ------------------------------------------------------------------ */
/* options                                                             */
/* ------------------------------------------------------------------ */

static gboolean parse_options(int argc, char **argv,
			      struct authload_options *opt)
{
	GOptionEntry entries[] = {
		{ "login-socket", 'l', 0, G_OPTION_ARG_FILENAME,
		  &opt->login_path, "Login-type auth socket "
		  "(BASE_DIR/login/login or BASE_DIR/auth-login)", "PATH" },
		{ "master-socket", 'm', 0, G_OPTION_ARG_FILENAME,
		  &opt->master_path, "BASE_DIR/auth-master", "PATH" },
		{ "users", 'u', 0, G_OPTION_ARG_FILENAME, &opt->users_path,
		  "File of name<TAB>password lines", "FILE" },
		{ "concurrency", 'c', 0, G_OPTION_ARG_INT, &opt->concurrency,
		  "Requests in flight (default 16)", "N" },
		{ "duration", 'd', 0, G_OPTION_ARG_DOUBLE, &opt->duration,
		  "Seconds to issue requests for (default 5)", "SECS" },
		{ "count", 'n', 0, G_OPTION_ARG_INT64, &opt->count,
		  "Issue exactly N requests instead", "N" },
		{ "service", 's', 0, G_OPTION_ARG_STRING, &opt->service,
		  "service= of each request (default imap)", "NAME" },
		{ "timeout", 't', 0, G_OPTION_ARG_DOUBLE, &opt->timeout,
		  "Give up this many seconds after the end (default 30; "
		  "with --count: after the start, default 600)", "SECS" },
		{ "seed", 0, 0, G_OPTION_ARG_INT64, &opt->seed,
		  "Seed of the user choice (default: random)", "N" },
		{ "json", 0, 0, G_OPTION_ARG_NONE, &opt->json,
		  "Print one JSON object", NULL },
		{ NULL, 0, 0, 0, NULL, NULL, NULL }
	};
	GOptionContext *context = g_option_context_new(
		"- logins against Dovecot's auth process");
	GError *error = NULL;
	gboolean ok;

	opt->concurrency = 16;
	opt->duration = 5;
	opt->timeout = -1;
	opt->seed = -1;
	g_option_context_add_main_entries(context, entries, NULL);
	ok = g_option_context_parse(context, &argc, &argv, &error);
	g_option_context_free(context);
	if (!ok) {
		fprintf(stderr, "mg-authload: %s\n", error->message);
		g_error_free(error);
		return FALSE;
	}
	if (opt->login_path == NULL || opt->master_path == NULL ||
	    opt->users_path == NULL) {
		fprintf(stderr, "mg-authload: --login-socket, --master-socket "
			"and --users are required\n");
		return FALSE;
	}
	if (opt->concurrency < 1 || opt->duration <= 0 || opt->count < 0) {
		fprintf(stderr, "mg-authload: concurrency and duration must be "
			"positive\n");
		return FALSE;
	}
	if (opt->service == NULL)
		opt->service = g_strdup("imap");
	if (opt->timeout < 0)
		opt->timeout = opt->count > 0 ? 600 : 30;
	return TRUE;
}

static void authload_free(struct authload *load)
{
	line_conn_close(&load->login);
	line_conn_close(&load->master);
	if (load->pending != NULL)
		g_hash_table_destroy(load->pending);
	if (load->users != NULL)
		g_ptr_array_unref(load->users);
	if (load->latencies_us != NULL)
		g_array_free(load->latencies_us, TRUE);
	if (load->rand != NULL)
		g_rand_free(load->rand);
	if (load->loop != NULL)
		g_main_loop_unref(load->loop);
	g_free(load->cookie);
	g_free(load->error);
	g_free(load->opt.login_path);
	g_free(load->opt.master_path);
	g_free(load->opt.users_path);
	g_free(load->opt.service);
}

int main(int argc, char **argv)
{
	struct authload load;
	char *error = NULL;
	int ret;

	memset(&load, 0, sizeof(load));
	load.login.fd = load.master.fd = -1;
	if (!parse_options(argc, argv, &load.opt)) {
		authload_free(&load);
		return 2;
	}
	load.users = users_read(load.opt.users_path, &error);
	if (load.users == NULL) {
		fprintf(stderr, "mg-authload: %s\n", error);
		g_free(error);
		authload_free(&load);
		return 2;
	}
	load.rand = load.opt.seed >= 0 ? g_rand_new_with_seed(load.opt.seed) :
		g_rand_new();
	load.pending = g_hash_table_new_full(g_direct_hash, g_direct_equal,
					     NULL, g_free);
	load.latencies_us = g_array_sized_new(FALSE, FALSE, sizeof(gint64),
					      1 << 16);
	load.loop = g_main_loop_new(NULL, FALSE);
	g_unix_signal_add(SIGINT, authload_signal, &load);
	g_unix_signal_add(SIGTERM, authload_signal, &load);
	if (authload_connect(&load, &error) < 0) {
		fprintf(stderr, "mg-authload: %s\n", error);
		g_free(error);
		authload_free(&load);
		return 2;
	}
	authload_run(&load);
	authload_report(&load);
	if (load.exit_code == 0 && load.error == NULL &&
	    load.counts.ok + load.counts.refused == 0)
		load.exit_code = 1;
	ret = load.exit_code;
	if (load.error != NULL && !load.opt.json)
		fprintf(stderr, "mg-authload: %s\n", load.error);
	authload_free(&load);
	return ret;
}
