/* stats: the daemon's counters, one per line. */
#include <string.h>

#include <cjson/cJSON.h>

#include "ctl.h"

static void
cmd_stats_print(const struct reply *rep)
{
	const cJSON *item;

	/* Every field but the envelope, in the daemon's order; objects one level deep. */
	cJSON_ArrayForEach(item, rep->json)
	{
		const cJSON *sub;

		if (strcmp(item->string, "ok") == 0 || strcmp(item->string, "id") == 0)
			continue;
		if (cJSON_IsObject(item)) {
			cJSON_ArrayForEach(sub, item)
			{
				printf("%-22s ", item->string);
				print_esc(stdout, sub->string);
				printf(" %.0f\n", sub->valuedouble);
			}
			continue;
		}
		printf("%-22s ", item->string);
		if (cJSON_IsString(item))
			print_esc(stdout, item->valuestring);
		else if (cJSON_IsNumber(item))
			printf("%.0f", item->valuedouble);
		else
			fputs("-", stdout);
		putchar('\n');
	}
}

static int
cmd_stats_exec(struct ctl *c, const struct cmd_entry *e, struct cmd_args *a)
{
	struct jbuf jb;

	(void)e;
	(void)a;
	jb_init(&jb);
	jb_obj_begin(&jb);
	jb_kstr(&jb, "op", "stats");
	jb_obj_end(&jb);
	return cmd_request(c, &jb, cmd_stats_print);
}

const struct cmd_entry cmd_stats_entry = {
    .name = "stats",
    .args = "",
    .summary = "print the daemon's counters",
    .min_args = 0,
    .max_args = 0,
    .exec = cmd_stats_exec,
};
