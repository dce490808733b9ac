// The kernel's floor for a pool's broadcast: accept N loopback connections, then each round send one message to
// every connection from T threads and time it. Built and run by bench/send-floor.ts (needs gcc).
// usage: send-floor PORT N THREADS BYTES ROUNDS
// ROUNDS 0: a round each time a line comes on stdin, its milliseconds printed on a line (bench/pool-load.ts
// interleaves these rounds with the pool's tips, one client for both).
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int *fds, n, threads, bytes;
static char *msg;

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static double *cpu;

static void *part(void *arg) {
  long k = (long)arg;
  struct timespec a, b;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
  for (int i = (int)k; i < n; i += threads) send(fds[i], msg, bytes, MSG_DONTWAIT);
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
  cpu[k] = (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6;
  return NULL;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc < 6) return 2;
  int port = atoi(argv[1]), rounds = atoi(argv[5]), one = 1;
  n = atoi(argv[2]);
  threads = atoi(argv[3]);
  bytes = atoi(argv[4]);
  int l = socket(AF_INET, SOCK_STREAM, 0);
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(0x7f000001);
  if (bind(l, (void *)&a, sizeof a) || listen(l, 4096)) return perror("listen"), 1;
  printf("listening\n");
  fflush(stdout);
  fds = malloc(sizeof(int) * n);
  for (int i = 0; i < n; i++) {
    fds[i] = accept(l, NULL, NULL);
    setsockopt(fds[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  msg = malloc(bytes);
  memset(msg, 'x', bytes);
  msg[bytes - 1] = '\n';
  pthread_t *t = malloc(sizeof(pthread_t) * threads);
  cpu = calloc(threads, sizeof(double));
  if (rounds == 0) {
    printf("accepted\n");
    fflush(stdout);
    char line[16];
    while (fgets(line, sizeof line, stdin)) {
      double t0 = now_ms();
      for (long k = 0; k < threads; k++) pthread_create(&t[k], NULL, part, (void *)k);
      for (int k = 0; k < threads; k++) pthread_join(t[k], NULL);
      double most = 0;
      for (int k = 0; k < threads; k++) most = cpu[k] > most ? cpu[k] : most;
      // Milliseconds of the round, then the busiest thread's CPU time per connection it sent to (microseconds).
      printf("%.3f %.3f\n", now_ms() - t0, most * 1e3 / ((n + threads - 1) / threads));
      fflush(stdout);
    }
    return 0;
  }
  double *d = malloc(sizeof(double) * rounds), *c = malloc(sizeof(double) * rounds);
  for (int r = 0; r < rounds; r++) {
    double t0 = now_ms();
    for (long k = 0; k < threads; k++) pthread_create(&t[k], NULL, part, (void *)k);
    for (int k = 0; k < threads; k++) pthread_join(t[k], NULL);
    d[r] = now_ms() - t0;
    c[r] = 0;
    for (int k = 0; k < threads; k++) c[r] = cpu[k] > c[r] ? cpu[k] : c[r];
    c[r] *= 1e3 / ((n + threads - 1) / threads);
    usleep(300000);
  }
  qsort(d, rounds, sizeof(double), cmp);
  qsort(c, rounds, sizeof(double), cmp);
  printf("{\"p50\":%.2f,\"p90\":%.2f,\"max\":%.2f,\"cpu_us_per_conn\":%.2f}\n", d[rounds / 2], d[rounds * 9 / 10], d[rounds - 1], c[rounds / 2]);
  return 0;
}
