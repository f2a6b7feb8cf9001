// The Lambda bundles' stand-in for node:http (see LAMBDA_BUILTINS in ../lambda-code.ts).
module.exports = process.getBuiltinModule('node:http');
