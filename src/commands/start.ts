import { controlCommand } from './module-control.ts';

export const start = controlCommand('start', 'Start a module, or the hub through its service');
