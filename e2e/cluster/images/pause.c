/* The pod sandbox's first process: holds the namespaces open, reaps orphans
 * (it is PID 1 when the pod shares its PID namespace) and exits on SIGINT or
 * SIGTERM so the runtime can stop the sandbox promptly. */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_stop(int sig) { _exit(128 + sig); }

static void on_child(int sig) {
  (void)sig;
  while (waitpid(-1, 0, WNOHANG) > 0) {
  }
}

int main(void) {
  struct sigaction stop = {.sa_handler = on_stop};
  struct sigaction child = {.sa_handler = on_child, .sa_flags = SA_NOCLDSTOP};
  if (getpid() != 1) {
    /* Not fatal: a shared host PID namespace is a legal (if odd) setup. */
    static const char msg[] = "pause: not running as PID 1\n";
    (void)!write(2, msg, sizeof msg - 1);
  }
  if (sigaction(SIGINT, &stop, 0) < 0 || sigaction(SIGTERM, &stop, 0) < 0 ||
      sigaction(SIGCHLD, &child, 0) < 0)
    return 1;
  for (;;) pause();
}
