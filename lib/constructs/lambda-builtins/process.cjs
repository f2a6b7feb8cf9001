// The Lambda bundles' stand-in for node:process (see LAMBDA_BUILTINS in ../lambda-code.ts).
module.exports = process.getBuiltinModule('node:process');
