import type { ModuleProblem } from './live-modules.ts';

/**
 * Why a module is not running, in plain words with its details: the hint
 * for a missing program, who holds its port, how it ended and what it
 * printed last.
 */
export function StartProblem({ problem }: { problem: ModuleProblem }) {
  return (
    <div class="error start-problem" role="alert" data-testid="module-problem">
      <p>
        <strong>{headline(problem)}</strong>
      </p>
      <p>{problem.message}</p>
      {problem.holder && (
        <p>
          Port held by process <code>{problem.holder.pid}</code>:{' '}
          <code>{problem.holder.command}</code>. The hub never stops a process it did not start;
          stop it yourself, then start this module.
        </p>
      )}
      {problem.lastLines && problem.lastLines.length > 0 && (
        <>
          <p>Its last lines:</p>
          <pre class="log" data-testid="last-lines">
            {problem.lastLines.map((l) => l.line).join('\n')}
          </pre>
        </>
      )}
      <p class="muted">At {new Date(problem.at).toLocaleString()}</p>
    </div>
  );
}

function ended(problem: ModuleProblem): string {
  if (problem.signal) return `was stopped by signal ${problem.signal}`;
  if (problem.exitCode !== undefined && problem.exitCode !== null)
    return `exited with code ${problem.exitCode}`;
  return 'exited';
}

/** The first line of a start problem, in plain words; the Overview says it too. */
export function headline(problem: ModuleProblem): string {
  switch (problem.reason) {
    case 'missing_dependency':
      return 'A program it needs is missing.';
    case 'port_held':
      return 'Its port is taken by another program.';
    case 'unbound':
      return 'It runs but never opened its port.';
    case 'no_start_cmd':
      return 'It has no start command, so the hub does not run it.';
    case 'crashed':
      return `It keeps crashing: it ${ended(problem)}. The hub gave up restarting it.`;
    case 'exited':
      return `It stopped unexpectedly: it ${ended(problem)}. The hub restarts it shortly.`;
    case 'unreaped':
      return 'Its processes did not stop even after being killed.';
  }
}
