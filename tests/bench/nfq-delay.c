/*
 * nfq-delay.c - hold every packet of one netfilter queue for a fixed time, then
 * let it go: `tc qdisc ... netem delay` for kernels built without sch_netem.
 * The benchmark (tests/bench/run.sh) runs it inside the network namespace of
 * its S3 server, behind an iptables rule that queues the packets leaving the
 * namespace's veth, so that each round trip to the server takes DELAY longer.
 *
 * Usage: nfq-delay QUEUE DELAY_MS READY_FILE
 *
 * Packets are released in the order they came, each DELAY_MS after it was
 * queued (to about 0.1 ms); only the metadata is copied to us, never the
 * payload, and GSO packets are queued whole. It creates READY_FILE once the
 * queue is bound, and ends on SIGTERM or SIGINT, releasing what it holds.
 * A queue that overflows (more than MAX_HELD packets in DELAY_MS) drops, as
 * netem's limit does.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_HELD 65536u

struct held {
	uint32_t id;
	uint64_t due_ns;
};

static struct held ring[MAX_HELD];
static unsigned int head, n_held;
static uint64_t delay_ns;
static unsigned long long n_dropped;
static volatile sig_atomic_t stop;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int on_packet(struct nfq_q_handle *qh, struct nfgenmsg *msg, struct nfq_data *nfa,
		     void *data)
{
	struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
	uint32_t id;

	(void)msg;
	(void)data;
	if (!ph)
		return 0;
	id = ntohl(ph->packet_id);
	if (n_held == MAX_HELD) {
		n_dropped++;
		return nfq_set_verdict(qh, id, NF_DROP, 0, NULL);
	}
	ring[(head + n_held) % MAX_HELD] = (struct held){ .id = id, .due_ns = now_ns() + delay_ns };
	n_held++;
	return 0;
}

/* Lets go every packet that is due (all of them with force). */
static void release(struct nfq_q_handle *qh, int force)
{
	uint64_t now = now_ns();

	while (n_held > 0 && (force || ring[head].due_ns <= now)) {
		nfq_set_verdict(qh, ring[head].id, NF_ACCEPT, 0, NULL);
		head = (head + 1) % MAX_HELD;
		n_held--;
	}
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct nfq_handle *h;
	struct nfq_q_handle *qh;
	static char buf[1 << 16];
	struct sigaction sa = { .sa_handler = on_signal };
	int fd, ready;
	long queue, ms;

	if (argc != 4) {
		fprintf(stderr, "usage: nfq-delay QUEUE DELAY_MS READY_FILE\n");
		return 2;
	}
	queue = strtol(argv[1], NULL, 10);
	ms = strtol(argv[2], NULL, 10);
	if (queue < 0 || queue > 65535 || ms < 0 || ms > 10000) {
		fprintf(stderr, "nfq-delay: QUEUE must be 0..65535 and DELAY_MS 0..10000\n");
		return 2;
	}
	delay_ns = (uint64_t)ms * 1000000u;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	h = nfq_open();
	if (!h) {
		fprintf(stderr, "nfq-delay: nfq_open: %s\n", strerror(errno));
		return 1;
	}
	qh = nfq_create_queue(h, (uint16_t)queue, on_packet, NULL);
	if (!qh) {
		fprintf(stderr, "nfq-delay: cannot bind queue %ld: %s\n", queue, strerror(errno));
		fprintf(stderr, "hint: the kernel needs CONFIG_NETFILTER_NETLINK_QUEUE, and the "
				"queue must not be taken\n");
		return 1;
	}
	if (nfq_set_mode(qh, NFQNL_COPY_META, 0) < 0 || nfq_set_queue_maxlen(qh, MAX_HELD) < 0) {
		fprintf(stderr, "nfq-delay: configuring queue %ld: %s\n", queue, strerror(errno));
		return 1;
	}
	/* Whole GSO packets: the kernel need not cut them up for us. */
	nfq_set_queue_flags(qh, NFQA_CFG_F_GSO, NFQA_CFG_F_GSO);
	nfnl_rcvbufsiz(nfq_nfnlh(h), 16 << 20);
	fd = nfq_fd(h);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);

	ready = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (ready < 0) {
		fprintf(stderr, "nfq-delay: cannot create %s: %s\n", argv[3], strerror(errno));
		return 1;
	}
	close(ready);

	while (!stop) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		struct timespec ts, *tsp = NULL;
		ssize_t len;

		if (n_held > 0) {
			uint64_t now = now_ns(), due = ring[head].due_ns;
			uint64_t wait = due > now ? due - now : 0;

			ts.tv_sec = (time_t)(wait / 1000000000u);
			ts.tv_nsec = (long)(wait % 1000000000u);
			tsp = &ts;
		}
		if (ppoll(&pfd, 1, tsp, NULL) < 0 && errno != EINTR) {
			fprintf(stderr, "nfq-delay: poll: %s\n", strerror(errno));
			break;
		}
		for (;;) {
			len = recv(fd, buf, sizeof(buf), 0);
			if (len < 0) {
				/* ENOBUFS: the kernel dropped some; TCP resends them. */
				if (errno == ENOBUFS)
					continue;
				break;
			}
			nfq_handle_packet(h, buf, (int)len);
		}
		release(qh, 0);
	}
	release(qh, 1);
	if (n_dropped)
		fprintf(stderr, "nfq-delay: dropped %llu packets (queue full)\n", n_dropped);
	nfq_destroy_queue(qh);
	nfq_close(h);
	return 0;
}
