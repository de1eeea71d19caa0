// Errors shaped like Node's system errors, so JavaScript handles the addon's failures as it
// handles fs or net ones (addon.ts turns them into KernelError).
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "errno_error.h"

napi_value errno_error(napi_env env, int err, const char *syscall) {
  napi_value code, msg, error, errnum, sys;
  const char *name = strerrorname_np(err);
  char message[160];
  snprintf(message, sizeof message, "%s: %s", syscall, strerror(err));
  napi_create_string_utf8(env, name != NULL ? name : "EUNKNOWN", NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, code, msg, &error);
  napi_create_int32(env, err, &errnum);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sys);
  napi_set_named_property(env, error, "errno", errnum);
  napi_set_named_property(env, error, "syscall", sys);
  return error;
}
