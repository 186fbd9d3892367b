import type { ComponentChildren } from 'preact';
import { useId } from 'preact/hooks';

/**
 * The module.json of a package that ships none, as a person fills it in:
 * every value a string (or a checkbox) so a half-typed field is kept as
 * typed. `manifestOf` turns it into what POST /api/modules/install takes.
 */
export interface ManifestDraft {
  name: string;
  manifestName: string;
  displayName: string;
  port: string;
  /** Mount paths, separated by spaces. */
  paths: string;
  health: string;
  /** argv, one argument per space-separated word (no shell, no quotes). */
  startCmd: string;
  stripPrefix: boolean;
  websocket: boolean;
}

export type FieldErrors = Partial<Record<string, string>>;

/**
 * Defaults from a package spec: `http-server@14` → name `http-server`,
 * mounted at `/http-server`, started as `http-server`. A folder or .tgz
 * gives its last segment without `.tgz` and a trailing version.
 */
export function draftFor(spec: string): ManifestDraft {
  const base =
    spec
      .trim()
      .replace(/[/\\]+$/, '')
      .split(/[/\\]/)
      .pop() ?? '';
  const bare = base
    .replace(/\.tgz$/i, '')
    .replace(/-\d+\.\d+\.\d+.*$/, '')
    .replace(/@.*$/, '');
  let name = bare
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^[^a-z]+/, '')
    .replace(/-+$/, '');
  if (name === '') name = 'module';
  return {
    name,
    manifestName: name,
    displayName: '',
    port: String(suggestedPort(name)),
    paths: `/${name}`,
    health: '/',
    startCmd: name,
    // A package that knows nothing of the hub serves from `/`, not from its mount.
    stripPrefix: true,
    websocket: false,
  };
}

// A stable port per name away from the hub's own 1939-1949; the hub gives
// the module another one when it is taken.
function suggestedPort(name: string): number {
  let hash = 0;
  for (const c of name) hash = (hash * 31 + c.charCodeAt(0)) % 1000;
  return 4000 + hash;
}

// biome-ignore lint/suspicious/noTemplateCurlyInString: the literal the hub replaces in startCmd with the assigned port
const PORT_PLACEHOLDER = '${PORT}';

const words = (text: string) => text.split(/\s+/).filter((w) => w !== '');

/** The manifest the draft stands for; empty optional fields are left out. */
export function manifestOf(draft: ManifestDraft): Record<string, unknown> {
  const argv = words(draft.startCmd);
  const port = draft.port.trim();
  return {
    name: draft.name.trim(),
    manifestName: draft.manifestName.trim(),
    ...(draft.displayName.trim() ? { displayName: draft.displayName.trim() } : {}),
    port: /^\d+$/.test(port) ? Number(port) : port,
    paths: words(draft.paths),
    health: draft.health.trim(),
    ...(argv.length > 0 ? { startCmd: argv } : {}),
    stripPrefix: draft.stripPrefix,
    websocket: draft.websocket,
  };
}

/**
 * What the hub would refuse in the draft, by field, in its words
 * (src/modules/schema.ts). Reserved and taken paths and names are the
 * hub's to say: it answers them by field too.
 */
export function draftErrors(draft: ManifestDraft): FieldErrors {
  const errors: FieldErrors = {};
  if (!/^[a-z][a-z0-9-]*$/.test(draft.name.trim()))
    errors.name = 'Use lowercase letters, digits and dashes, starting with a letter.';
  const manifestName = draft.manifestName.trim();
  if (manifestName.length < 1 || manifestName.length > 214)
    errors.manifestName = 'Give 1 to 214 characters.';
  const port = draft.port.trim();
  if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535)
    errors.port = 'Give a whole number from 1 to 65535.';
  const badPath = words(draft.paths).find(
    (p) => !/^\/[A-Za-z0-9._~\-/]*$/.test(p) || p.includes('//') || p.split('/').includes('..'),
  );
  if (badPath)
    errors.paths = `${badPath}: each path starts with / and has only URL path characters, without // or ..`;
  if (!draft.health.trim().startsWith('/')) errors.health = 'Give a path starting with /.';
  if (/["'\\]/.test(draft.startCmd))
    errors.startCmd =
      'Quotes and backslashes are not understood here (there is no shell): for an argument with spaces, use Advanced.';
  return errors;
}

/** The manifest fields; `errors` are the form's own and the hub's, by field. */
export function ManifestFields(props: {
  draft: ManifestDraft;
  onDraft: (draft: ManifestDraft) => void;
  errors: FieldErrors;
  disabled?: boolean;
}) {
  const { draft, errors } = props;
  const set = (patch: Partial<ManifestDraft>) => props.onDraft({ ...draft, ...patch });
  const text = (
    key: 'name' | 'manifestName' | 'displayName' | 'port' | 'paths' | 'health' | 'startCmd',
    label: string,
    hint: ComponentChildren,
    inputMode?: 'numeric',
  ) => (
    <ManifestInput
      label={label}
      value={draft[key]}
      onValue={(value) => set({ [key]: value })}
      hint={hint}
      error={errors[key]}
      inputMode={inputMode}
    />
  );
  return (
    <fieldset class="manifest-form" disabled={props.disabled}>
      <legend>module.json</legend>
      {text('name', 'Name', 'Short and URL-safe: lowercase letters, digits and dashes.')}
      {text(
        'displayName',
        'Display name',
        'Optional: what the admin UI and the hub’s home page call it.',
      )}
      {text(
        'paths',
        'Mount paths',
        <>
          Where the hub serves it, like <code>/{draft.name || 'name'}</code>; separate several with
          spaces.
        </>,
      )}
      {text(
        'startCmd',
        'Start command',
        <>
          The program and its arguments, separated by spaces, run in the package’s folder without a
          shell. <code>{PORT_PLACEHOLDER}</code> becomes the port the hub assigns (it is also in the{' '}
          <code>PORT</code> variable). Empty: the hub never starts it.
        </>,
      )}
      {text(
        'port',
        'Port',
        'Preferred port; the hub assigns another when this one is taken.',
        'numeric',
      )}
      {text('health', 'Health path', 'A path on the module’s own port; 2xx or 401 means alive.')}
      {text('manifestName', 'Row name', 'Its key in services.json; usually the same as the name.')}
      <label class="check">
        <input
          type="checkbox"
          checked={draft.stripPrefix}
          onChange={(e) => set({ stripPrefix: e.currentTarget.checked })}
        />
        <span>Strip the mount path before forwarding (for a program that serves from /)</span>
      </label>
      <label class="check">
        <input
          type="checkbox"
          checked={draft.websocket}
          onChange={(e) => set({ websocket: e.currentTarget.checked })}
        />
        <span>Bridge WebSocket connections to it</span>
      </label>
    </fieldset>
  );
}

/** A labelled input with its hint and, when wrong, what is wrong (read out with it). */
function ManifestInput(props: {
  label: string;
  value: string;
  onValue: (value: string) => void;
  hint: ComponentChildren;
  error?: string;
  inputMode?: 'numeric';
}) {
  const id = useId();
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <input
        id={id}
        type="text"
        value={props.value}
        inputMode={props.inputMode}
        spellcheck={false}
        autocapitalize="off"
        aria-invalid={props.error ? 'true' : undefined}
        aria-describedby={`${id}-hint${props.error ? ` ${id}-error` : ''}`}
        onInput={(e) => props.onValue(e.currentTarget.value)}
      />
      {props.error && (
        <p class="hint error" id={`${id}-error`}>
          {props.error}
        </p>
      )}
      <p class="hint" id={`${id}-hint`}>
        {props.hint}
      </p>
    </div>
  );
}
