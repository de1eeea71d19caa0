#pragma once
#include <node_api.h>
napi_value js_delete_link(napi_env env, napi_callback_info info);
