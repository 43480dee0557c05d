// SPDX-License-Identifier: GPL-2.0-only
/*
 * memhog: the capture workload. Fills N MiB with a per-page pattern (inside a cgroup whose
 * memory.max forces it out to swap), optionally waits for SIGUSR1, reads every page back in
 * sequential or random order and verifies it. A SIGBUS prints si_code, address and page index,
 * then the process dies of it (exit status 135). With -f it forks after the fill, so parent and
 * child fault the same swap entries. With -z K every K-th page (page index % K == 0) is filled
 * with zeros instead (Linux 6.12's zeromap: such a page is swapped out and in without I/O).
 *
 * Usage: memhog [-m MIB] [-r] [-w] [-f] [-s SEED] [-z K]
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL

static char *base;
static const char *who = "memhog";
static size_t zero_every;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t pattern(size_t page, size_t word)
{
	if (zero_every && page % zero_every == 0)
		return 0;
	return (page + 1) * 0x9e3779b97f4a7c15ULL ^ word;
}

static void on_sigbus(int sig, siginfo_t *si, void *ctx)
{
	char buf[160];
	long index = ((char *)si->si_addr - base) / (long)PAGE;
	int n = snprintf(buf, sizeof(buf), "%s: SIGBUS si_code=%d addr=%p page_index=%ld\n",
			 who, si->si_code, si->si_addr, index);

	(void)ctx;
	if (write(1, buf, n) < 0)
		_exit(2);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void on_usr1(int sig)
{
	(void)sig;
}

static size_t verify(size_t pages, const size_t *order)
{
	size_t bad = 0;

	for (size_t i = 0; i < pages; i++) {
		size_t p = order[i];
		const uint64_t *w = (const uint64_t *)(base + p * PAGE);

		for (size_t j = 0; j < PAGE / 8; j++) {
			if (w[j] != pattern(p, j)) {
				bad++;
				break;
			}
		}
	}
	return bad;
}

int main(int argc, char **argv)
{
	size_t mib = 1, pages;
	int random_order = 0, wait_go = 0, do_fork = 0, opt;
	unsigned int seed = 1;
	size_t *order;
	struct sigaction sa;
	sigset_t block, old;
	pid_t child = 0;
	double t0;

	while ((opt = getopt(argc, argv, "m:rwfs:z:")) != -1) {
		switch (opt) {
		case 'm': mib = strtoul(optarg, NULL, 0); break;
		case 'r': random_order = 1; break;
		case 'w': wait_go = 1; break;
		case 'f': do_fork = 1; break;
		case 's': seed = strtoul(optarg, NULL, 0); break;
		case 'z': zero_every = strtoul(optarg, NULL, 0); break;
		default:
			fprintf(stderr, "usage: memhog [-m MIB] [-r] [-w] [-f] [-s SEED] [-z K]\n");
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	pages = mib * 1024 * 1024 / PAGE;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGBUS, &sa, NULL);
	signal(SIGUSR1, on_usr1);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &old);

	base = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	if (base == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	t0 = now();
	for (size_t p = 0; p < pages; p++) {
		uint64_t *w = (uint64_t *)(base + p * PAGE);

		for (size_t j = 0; j < PAGE / 8; j++)
			w[j] = pattern(p, j);
	}
	printf("%s: pid=%d filled %zu pages at %p in %.3fs\n", who, getpid(), pages,
	       (void *)base, now() - t0);

	order = malloc(pages * sizeof(*order));
	for (size_t i = 0; i < pages; i++)
		order[i] = i;
	srand(seed);
	for (size_t i = pages - 1; random_order && i > 0; i--) {
		size_t j = (size_t)rand() % (i + 1), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}

	if (do_fork) {
		child = fork();
		if (child < 0) {
			perror("fork");
			return 2;
		}
		if (child == 0)
			who = "memhog[child]";
		else
			printf("%s: forked child pid=%d\n", who, child);
	}
	if (wait_go) {
		sigsuspend(&old);
		if (child > 0)
			kill(child, SIGUSR1);
		printf("%s: go\n", who);
	}

	t0 = now();
	size_t bad = verify(pages, order);

	printf("%s: verified %zu pages (%s order) in %.3fs: %zu bad\n", who, pages,
	       random_order ? "random" : "sequential", now() - t0, bad);
	if (child > 0) {
		int status;

		waitpid(child, &status, 0);
		if (WIFSIGNALED(status)) {
			printf("%s: child killed by signal %d\n", who, WTERMSIG(status));
			return 128 + WTERMSIG(status);
		}
		if (WEXITSTATUS(status) != 0)
			return WEXITSTATUS(status);
	}
	return bad ? 1 : 0;
}
