/*
 * The floor for `cacheform validate`: read the same files and run libyaml's event parser over
 * each, doing nothing else. Usage: yamlfloor DIR (reads DIR/cacheform.yaml, DIR/endpoints/
 * and DIR/purges/). Prints the number of files and events.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#define FLOOR_PATH_MAX 4096

static unsigned long nfiles, nevents;

static int floor_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	yaml_parser_t p;
	yaml_event_t ev;
	int done = 0, ok = 1;
	if (!f)
		return -1;
	/* Read whole, as cacheform does, then parse from memory. */
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	rewind(f);
	unsigned char *buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, buf, (size_t)n);
	while (!done) {
		if (!yaml_parser_parse(&p, &ev)) {
			ok = 0;
			break;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		nevents++;
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	free(buf);
	nfiles++;
	return ok ? 0 : -1;
}

static int floor_dir(const char *root, const char *sub)
{
	char path[FLOOR_PATH_MAX];
	struct dirent *de;
	snprintf(path, sizeof(path), "%s/%s", root, sub);
	DIR *d = opendir(path);
	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);
		if (n < 6 || strcmp(de->d_name + n - 5, ".yaml") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s/%s", root, sub, de->d_name);
		if (floor_file(path) < 0) {
			fprintf(stderr, "yamlfloor: %s: parse error\n", path);
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	return 0;
}

int main(int argc, char **argv)
{
	char path[FLOOR_PATH_MAX];
	if (argc != 2) {
		fprintf(stderr, "usage: yamlfloor DIR\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/cacheform.yaml", argv[1]);
	if (floor_file(path) < 0 || floor_dir(argv[1], "endpoints") < 0 ||
	    floor_dir(argv[1], "purges") < 0)
		return 1;
	printf("%lu files, %lu events\n", nfiles, nevents);
	return 0;
}
