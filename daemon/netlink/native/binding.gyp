{
  "targets": [
    {
      "target_name": "ovn_multinet_native",
      "sources": ["setns.c", "rtnl.c", "errno_error.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-Wall", "-Wextra", "-Werror", "-std=gnu11"]
    }
  ]
}
