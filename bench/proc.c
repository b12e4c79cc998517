/* CPU time and memory of the daemon, of cwbench and of the host, read from /proc. */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cwbench.h"

double
proc_cpu(long long pid)
{
	char path[64], buf[1024], *p;
	unsigned long long utime, stime;
	FILE *f;
	size_t n;
	int field;

	snprintf(path, sizeof(path), "/proc/%lld/stat", pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: fields start after the last ')'. */
	p = strrchr(buf, ')');
	if (p == NULL)
		return -1;
	/* Space k after it precedes field k + 2; utime and stime are fields 14 and 15. */
	for (field = 3; field <= 14 && p != NULL; field++)
		p = strchr(p + 1, ' ');
	if (p == NULL || sscanf(p, " %llu %llu", &utime, &stime) != 2)
		return -1;
	return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

double
proc_host_cpu(void)
{
	unsigned long long v[8] = {0};
	double busy = 0;
	FILE *f = fopen("/proc/stat", "r");
	int i, n;

	if (f == NULL)
		return -1;
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
	           &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	if (n < 5)
		return -1;
	for (i = 0; i < 8; i++)
		if (i != 3 && i != 4) /* idle, iowait */
			busy += (double)v[i];
	return busy / (double)sysconf(_SC_CLK_TCK);
}

double
proc_self_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

void
proc_mem(long long pid, struct proc_mem *m)
{
	char path[64], line[256];
	FILE *f;

	m->rss = m->hwm = m->anon = m->file = -1;
	snprintf(path, sizeof(path), "/proc/%lld/status", pid);
	f = fopen(path, "r");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "VmRSS: %lld kB", &m->rss) == 1 ||
		    sscanf(line, "VmHWM: %lld kB", &m->hwm) == 1 ||
		    sscanf(line, "RssAnon: %lld kB", &m->anon) == 1)
			continue;
		sscanf(line, "RssFile: %lld kB", &m->file);
	}
	fclose(f);
}

void
proc_mem_format(char *buf, size_t len, const struct proc_mem *m)
{
	if (m->rss < 0) {
		snprintf(buf, len, "VmRSS=n/a VmHWM=n/a RssAnon=n/a RssFile=n/a");
		return;
	}
	snprintf(buf, len, "VmRSS=%.1fMiB VmHWM=%.1fMiB RssAnon=%.1fMiB RssFile=%.1fMiB",
	         (double)m->rss / 1024.0, (double)m->hwm / 1024.0, (double)m->anon / 1024.0,
	         (double)m->file / 1024.0);
}
