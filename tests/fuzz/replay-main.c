/* Replays saved inputs through one fuzz target's LLVMFuzzerTestOneInput()
   without libFuzzer, so `make check` covers the seed corpus and every
   crash reproducer with the ordinary compiler (and, in a sanitizer build,
   under ASan and UBSan).

   replay-TARGET [FILE|DIR...]
   Without arguments: $MG_SRCDIR/tests/fuzz/corpus/TARGET and
   $MG_SRCDIR/tests/fuzz/regressions/TARGET (MG_SRCDIR defaults to "."),
   files whose name starts with '.' skipped. Each input runs in a child
   process and is one TAP test: a crash, an abort (a broken property) or a
   sanitizer report is "not ok" for that input and the rest still run. */

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz.h"

#ifndef MG_FUZZ_TARGET
#  error "build with -DMG_FUZZ_TARGET=\"name\""
#endif

struct inputs {
	char **paths;
	size_t count, size;
};

static void inputs_add(struct inputs *inputs, char *path)
{
	if (inputs->count == inputs->size) {
		inputs->size = inputs->size == 0 ? 64 : inputs->size * 2;
		inputs->paths = realloc(inputs->paths,
					inputs->size * sizeof(*inputs->paths));
		if (inputs->paths == NULL) {
			perror("realloc");
			exit(99);
		}
	}
	inputs->paths[inputs->count++] = path;
}

static char *path_join(const char *dir, const char *name)
{
	size_t len = strlen(dir) + strlen(name) + 2;
	char *path = malloc(len);

	if (path == NULL) {
		perror("malloc");
		exit(99);
	}
	snprintf(path, len, "%s/%s", dir, name);
	return path;
}

static int compare_paths(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds a file, or a directory's regular files (sorted). A missing
   directory adds nothing when optional. */
static void collect(struct inputs *inputs, const char *path, int optional)
{
	struct stat st;
	struct dirent *d;
	size_t first = inputs->count;
	DIR *dir;

	if (stat(path, &st) < 0) {
		if (optional && errno == ENOENT)
			return;
		printf("Bail out! %s: %s\n", path, strerror(errno));
		exit(99);
	}
	if (!S_ISDIR(st.st_mode)) {
		inputs_add(inputs, strdup(path));
		return;
	}
	dir = opendir(path);
	if (dir == NULL) {
		printf("Bail out! %s: %s\n", path, strerror(errno));
		exit(99);
	}
	while ((d = readdir(dir)) != NULL) {
		char *file;

		if (d->d_name[0] == '.')
			continue;
		file = path_join(path, d->d_name);
		if (stat(file, &st) == 0 && S_ISREG(st.st_mode))
			inputs_add(inputs, file);
		else
			free(file);
	}
	closedir(dir);
	qsort(inputs->paths + first, inputs->count - first,
	      sizeof(*inputs->paths), compare_paths);
}

static int run_one(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data;
	long size;

	if (f == NULL || fseek(f, 0, SEEK_END) < 0 || (size = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) < 0) {
		perror(path);
		return 1;
	}
	/* exactly size bytes, as libFuzzer hands them over */
	data = malloc(size == 0 ? 1 : (size_t)size);
	if (data == NULL || fread(data, 1, (size_t)size, f) != (size_t)size) {
		perror(path);
		return 1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(data, (size_t)size);
	free(data);
	return 0;
}

int main(int argc, char **argv)
{
	struct inputs inputs = { NULL, 0, 0 };
	unsigned int failed = 0;
	int i;

	if (argc > 1) {
		for (i = 1; i < argc; i++)
			collect(&inputs, argv[i], 0);
	} else {
		const char *srcdir = getenv("MG_SRCDIR");
		char *dir;

		if (srcdir == NULL || *srcdir == '\0')
			srcdir = ".";
		dir = path_join(srcdir, "tests/fuzz/corpus/" MG_FUZZ_TARGET);
		collect(&inputs, dir, 1);
		free(dir);
		dir = path_join(srcdir, "tests/fuzz/regressions/" MG_FUZZ_TARGET);
		collect(&inputs, dir, 1);
		free(dir);
	}
	if (inputs.count == 0) {
		printf("1..0 # SKIP no saved inputs for %s\n", MG_FUZZ_TARGET);
		return 0;
	}
	printf("1..%zu\n", inputs.count);
	for (size_t n = 0; n < inputs.count; n++) {
		const char *path = inputs.paths[n];
		const char *shown = strstr(path, "tests/fuzz/");
		int status;
		pid_t pid;

		shown = shown != NULL ? shown + strlen("tests/fuzz/") : path;
		fflush(stdout);
		fflush(stderr);
		pid = fork();
		if (pid < 0) {
			printf("Bail out! fork: %s\n", strerror(errno));
			return 99;
		}
		if (pid == 0)
			exit(run_one(path));
		while (waitpid(pid, &status, 0) < 0) {
			if (errno != EINTR) {
				printf("Bail out! waitpid: %s\n",
				       strerror(errno));
				return 99;
			}
		}
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			printf("ok %zu - %s %s\n", n + 1, MG_FUZZ_TARGET, shown);
		} else {
			failed++;
			if (WIFSIGNALED(status))
				printf("not ok %zu - %s %s # killed by signal %d\n",
				       n + 1, MG_FUZZ_TARGET, shown,
				       WTERMSIG(status));
			else
				printf("not ok %zu - %s %s # exit status %d\n",
				       n + 1, MG_FUZZ_TARGET, shown,
				       WEXITSTATUS(status));
		}
		free(inputs.paths[n]);
	}
	free(inputs.paths);
	return failed == 0 ? 0 : 1;
}
