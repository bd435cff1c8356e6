// Child processes of a benchmark: started with tsx, ready when they say so over IPC, stopped
// with SIGTERM (SIGKILL if they hang). Their stdout (the server's request log) goes nowhere.
import { spawn, type ChildProcess } from 'node:child_process';

export interface BenchProcess {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 20_000;

export async function startBenchProcess(
  name: string,
  script: string,
  arg: unknown,
  nodeArgs: string[] = [],
): Promise<BenchProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...nodeArgs, script, JSON.stringify(arg)], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill('SIGTERM');
    });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within ${START_TIMEOUT_MS / 1000} s: ${stderr}`)), START_TIMEOUT_MS);
    child.once('message', (m: { ready?: string }) => {
      clearTimeout(timer);
      if (m.ready) resolve(m.ready);
      else reject(new Error(`${name} sent an unexpected message`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited during start-up (${signal ?? code}): ${stderr.trim()}`));
    });
  }).catch(async (err: unknown) => {
    await stop();
    throw err;
  });
  child.disconnect();
  return { url, child, stop };
}
