import { controlCommand } from './module-control.ts';

export const restart = controlCommand(
  'restart',
  'Restart a module (starts it if stopped), or the hub through its service',
);
