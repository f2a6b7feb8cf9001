// The Lambda bundles' stand-in for node:https (see LAMBDA_BUILTINS in ../lambda-code.ts).
module.exports = process.getBuiltinModule('node:https');
