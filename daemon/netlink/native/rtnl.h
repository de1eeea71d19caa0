#pragma once
#include <node_api.h>

napi_value js_rtnl_exchange(napi_env env, napi_callback_info info);
