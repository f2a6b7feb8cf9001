// The Lambda bundles' stand-in for node:net (see LAMBDA_BUILTINS in ../lambda-code.ts).
module.exports = process.getBuiltinModule('node:net');
