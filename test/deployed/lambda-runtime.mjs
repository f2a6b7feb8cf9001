// A minimal stand-in for the Lambda Node.js runtime, run as a child process with the function's environment and
// its asset directory as the working directory (Lambda's /var/task). It imports the module the Handler names,
// then serves invocations from its parent one at a time, as one Lambda execution environment does, with a
// context whose remaining time counts down from the function's timeout. An init error is reported for every
// invocation, as Lambda reports Runtime.ImportModuleError or the init's own error.
import { pathToFileURL } from 'node:url';

const handlerSetting = process.env._HANDLER ?? 'index.handler';
const exportName = handlerSetting.slice(handlerSetting.lastIndexOf('.') + 1);
const file = process.env.LAMBDA_LAYER_ENTRY_FILE;
const timeoutMs = Number(process.env.LAMBDA_LAYER_TIMEOUT_SECONDS) * 1000;

const loaded = import(pathToFileURL(`${process.env.LAMBDA_TASK_ROOT}/${file}`).href).then((module) => {
  const handler = module[exportName];
  if (typeof handler !== 'function') throw new Error(`${file} does not export a function ${exportName}`);
  return handler;
});
loaded.catch(() => undefined);

function errorOf(error) {
  return error instanceof Error
    ? { errorType: error.name, errorMessage: error.message, stack: error.stack }
    : { errorType: 'Error', errorMessage: String(error) };
}

process.on('message', async (message) => {
  const { id, event, requestId } = message;
  const deadline = Date.now() + timeoutMs;
  const context = {
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: '$LATEST',
    invokedFunctionArn: process.env.LAMBDA_LAYER_FUNCTION_ARN,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: requestId,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done() {},
    fail() {},
    succeed() {},
  };
  try {
    const handler = await loaded;
    const result = await handler(event, context);
    process.send({ id, ok: true, result: result === undefined ? null : result });
  } catch (error) {
    process.send({ id, ok: false, error: errorOf(error) });
  }
});
process.send({ ready: true });
