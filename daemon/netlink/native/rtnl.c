// rtnlExchange(hostFd, netnsFd, messages, txChecksumOff): sends rtnetlink requests one by one on a
// libuv threadpool thread and collects their replies.
//
// rtnetlink runs a request inside the sender's sendmsg(), under the kernel's RTNL lock: creating
// or destroying a veth pair takes milliseconds (an RCU grace period when destroying), and much
// longer while other work holds the lock. On the event loop's thread every other request would
// stall behind it, so no request is sent from there.
//
// With netnsFd >= 0 the thread enters that netns just long enough to create its sockets (a
// socket stays in the netns it was created in) and returns to hostFd at once; a thread that
// cannot return aborts the process rather than run later work in a pod's netns. Pool threads
// start in the host netns (netns.ts starts the pool before the main thread ever switches).
//
// messages: one buffer of complete netlink messages (headers included, flags set by the caller);
// each gets sequence number index + 1. The first error stops the exchange. txChecksumOff: an
// interface name whose TX checksum offload is turned off (SIOCETHTOOL) before the messages.
#define _GNU_SOURCE
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/netlink.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <node_api.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "errno_error.h"
#include "rtnl.h"

#define MAX_MESSAGES 4096
#define RECV_SIZE 65536
#define RECV_TIMEOUT_S 60

typedef struct {
  char *data;
  size_t len;
} reply_t;

typedef struct {
  int host_fd;
  int netns_fd;  // -1: the host netns
  char *messages;
  size_t messages_len;
  char tx_off[IFNAMSIZ];  // "" when not asked
  size_t count;           // messages found in the buffer
  reply_t *replies;       // one per message
  int failed;             // index of the message that failed, -1 if none
  int err;                // its positive errno
  int sys_err;            // a positive errno of the exchange itself (socket, setns, ioctl...)
  const char *syscall;    // what failed with sys_err
  napi_deferred deferred;
  napi_async_work work;
} exchange_t;

static void fail_sys(exchange_t *job, const char *syscall) {
  job->sys_err = errno;
  job->syscall = syscall;
}

// Opens the sockets in the target netns (rtnetlink, and an ioctl socket when asked) and returns.
static bool open_sockets(exchange_t *job, int *rtnl, int *ioctl_sock) {
  if (job->netns_fd >= 0 && setns(job->netns_fd, CLONE_NEWNET) != 0) {
    fail_sys(job, "setns");
    return false;
  }
  *rtnl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (*rtnl < 0) fail_sys(job, "socket(AF_NETLINK)");
  if (*rtnl >= 0 && job->tx_off[0] != '\0') {
    *ioctl_sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (*ioctl_sock < 0) fail_sys(job, "socket(AF_INET)");
  }
  if (job->netns_fd >= 0 && setns(job->host_fd, CLONE_NEWNET) != 0) {
    fprintf(stderr, "ovn_multinet_native: cannot return to the host network namespace: %s\n", strerror(errno));
    abort();
  }
  return job->sys_err == 0;
}

static bool append(reply_t *reply, const void *data, size_t len) {
  char *grown = realloc(reply->data, reply->len + len);
  if (grown == NULL) return false;
  memcpy(grown + reply->len, data, len);
  reply->data = grown;
  reply->len += len;
  return true;
}

// Sends one message and reads until its ACK, error or NLMSG_DONE; data messages go to reply.
// Returns 0, a positive errno from the kernel (*kernel = true), or a positive errno of a syscall.
static int send_one(int sock, struct nlmsghdr *msg, reply_t *reply, char *buf, bool *kernel) {
  *kernel = false;
  if (send(sock, msg, msg->nlmsg_len, 0) < 0) return errno;
  for (;;) {
    ssize_t n = recv(sock, buf, RECV_SIZE, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    size_t left = (size_t)n;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_seq != msg->nlmsg_seq) continue;
      if (h->nlmsg_type == NLMSG_DONE) return 0;
      if (h->nlmsg_type == NLMSG_ERROR) {
        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr))) return EPROTO;
        int error = -((struct nlmsgerr *)NLMSG_DATA(h))->error;
        *kernel = error != 0;
        return error;
      }
      if (!append(reply, h, h->nlmsg_len)) return ENOMEM;
      // A plain (non-dump) request is answered by one message; its ACK follows.
    }
  }
}

static bool disable_tx_checksum(exchange_t *job, int sock) {
  struct ethtool_value value = {.cmd = ETHTOOL_STXCSUM, .data = 0};
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, job->tx_off, IFNAMSIZ);
  ifr.ifr_data = (void *)&value;
  if (ioctl(sock, SIOCETHTOOL, &ifr) == 0) return true;
  fail_sys(job, "ioctl(SIOCETHTOOL)");
  return false;
}

static void send_all(exchange_t *job, int sock) {
  char *buf = malloc(RECV_SIZE);
  if (buf == NULL) {
    errno = ENOMEM;
    fail_sys(job, "malloc");
    return;
  }
  // A kernel that never answers must not hold a pool thread forever.
  struct timeval timeout = {.tv_sec = RECV_TIMEOUT_S};
  setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  size_t left = job->messages_len, i = 0;
  for (struct nlmsghdr *h = (struct nlmsghdr *)job->messages; NLMSG_OK(h, left) && i < job->count; h = NLMSG_NEXT(h, left), i++) {
    h->nlmsg_seq = (uint32_t)(i + 1);
    h->nlmsg_pid = 0;
    // Every request ends with an ACK (or NLMSG_DONE for a dump): that is how its end is known.
    h->nlmsg_flags |= NLM_F_REQUEST;
    if ((h->nlmsg_flags & NLM_F_DUMP) != NLM_F_DUMP) h->nlmsg_flags |= NLM_F_ACK;
    bool kernel;
    int err = send_one(sock, h, &job->replies[i], buf, &kernel);
    if (err != 0 && kernel) {
      job->failed = (int)i;
      job->err = err;
      break;
    }
    if (err != 0) {
      errno = err;
      fail_sys(job, "rtnetlink send/recv");
      break;
    }
  }
  free(buf);
}

static void execute(napi_env env, void *data) {
  (void)env;
  exchange_t *job = data;
  int rtnl = -1, ioctl_sock = -1;
  if (open_sockets(job, &rtnl, &ioctl_sock) && (ioctl_sock < 0 || disable_tx_checksum(job, ioctl_sock))) send_all(job, rtnl);
  if (rtnl >= 0) close(rtnl);
  if (ioctl_sock >= 0) close(ioctl_sock);
}

static void free_job(exchange_t *job) {
  if (job->replies != NULL) {
    for (size_t i = 0; i < job->count; i++) free(job->replies[i].data);
  }
  free(job->replies);
  free(job->messages);
  free(job);
}

static void complete(napi_env env, napi_status status, void *data) {
  exchange_t *job = data;
  if (status != napi_ok || job->sys_err != 0) {
    int err = status != napi_ok ? ECANCELED : job->sys_err;
    napi_reject_deferred(env, job->deferred, errno_error(env, err, status != napi_ok ? "rtnlExchange" : job->syscall));
  } else {
    napi_value result, replies, failed, err;
    napi_create_object(env, &result);
    napi_create_array_with_length(env, job->count, &replies);
    for (size_t i = 0; i < job->count; i++) {
      napi_value reply;
      void *copy = NULL;
      napi_create_buffer_copy(env, job->replies[i].len, job->replies[i].len > 0 ? job->replies[i].data : "", &copy, &reply);
      napi_set_element(env, replies, (uint32_t)i, reply);
    }
    napi_create_int32(env, job->failed, &failed);
    napi_create_int32(env, job->err, &err);
    napi_set_named_property(env, result, "replies", replies);
    napi_set_named_property(env, result, "failed", failed);
    napi_set_named_property(env, result, "errno", err);
    napi_resolve_deferred(env, job->deferred, result);
  }
  napi_delete_async_work(env, job->work);
  free_job(job);
}

static size_t count_messages(char *data, size_t len) {
  size_t count = 0, left = len;
  struct nlmsghdr *h = (struct nlmsghdr *)data;
  for (; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) count++;
  return left == 0 ? count : 0;
}

napi_value js_rtnl_exchange(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], promise, resource;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  exchange_t *job = calloc(1, sizeof *job);
  if (job == NULL) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  job->failed = -1;
  void *bytes = NULL;
  size_t len = 0, name_len = 0;
  napi_valuetype tx_type = napi_undefined;
  bool ok = argc == 4 && napi_get_value_int32(env, argv[0], &job->host_fd) == napi_ok &&
            napi_get_value_int32(env, argv[1], &job->netns_fd) == napi_ok &&
            napi_get_buffer_info(env, argv[2], &bytes, &len) == napi_ok && len > 0 &&
            napi_typeof(env, argv[3], &tx_type) == napi_ok;
  if (ok && tx_type == napi_string) {
    char name[64] = {0};
    ok = napi_get_value_string_utf8(env, argv[3], name, sizeof name, &name_len) == napi_ok && name_len > 0 &&
         name_len < IFNAMSIZ && strlen(name) == name_len;
    if (ok) memcpy(job->tx_off, name, name_len + 1);
  } else if (ok) {
    ok = tx_type == napi_undefined;
  }
  if (ok) {
    job->messages = malloc(len);
    ok = job->messages != NULL;
    if (ok) {
      memcpy(job->messages, bytes, len);
      job->messages_len = len;
      job->count = count_messages(job->messages, len);
      ok = job->count > 0 && job->count <= MAX_MESSAGES;
    }
  }
  if (ok) {
    job->replies = calloc(job->count, sizeof *job->replies);
    ok = job->replies != NULL;
  }
  if (!ok) {
    free_job(job);
    napi_throw_type_error(env, NULL, "expected (hostFd, netnsFd, netlink messages, interface name or undefined)");
    return NULL;
  }
  napi_create_promise(env, &job->deferred, &promise);
  napi_create_string_utf8(env, "ovn_multinet.rtnlExchange", NAPI_AUTO_LENGTH, &resource);
  napi_create_async_work(env, NULL, resource, execute, complete, job, &job->work);
  napi_queue_async_work(env, job->work);
  return promise;
}
