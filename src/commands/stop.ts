import { controlCommand } from './module-control.ts';

export const stop = controlCommand('stop', 'Stop a module, or the hub through its service');
