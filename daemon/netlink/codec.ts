// The `netlink` package's message encoders and decoders, and nothing else of it. They are imported
// file by file: the package's index also loads its raw socket module, which loads the package's
// prebuilt native binding (node-gyp-build). The daemon sends its messages through its own addon
// (native/), so no native code of the package is bundled, extracted or loaded
// (test/unit/netlink-codec.test.ts, scripts/build.ts).
export * as rt from 'netlink/dist/rt/structs.js';
export * as ifla from 'netlink/dist/rt/ifla.js';
export { AttrStream, formatMessage, parseMessages, readU32 } from 'netlink/dist/structs.js';
export { FlagsGet, FlagsNew } from 'netlink/dist/constants.js';
