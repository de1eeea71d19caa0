#pragma once
#include <node_api.h>

// An Error shaped like Node's system errors: code (errno name), message, errno, syscall.
napi_value errno_error(napi_env env, int err, const char *syscall);
