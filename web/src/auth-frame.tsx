import type { ComponentChildren } from 'preact';

/** The narrow centred card that sign-in, setup and a forced password change share. */
export function AuthFrame({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <div class="auth-page">
      <main class="auth-card">
        <div class="brand">
          <img src="/admin/favicon.svg" alt="" width={20} height={20} />
          Parachute
        </div>
        <h1>{title}</h1>
        {children}
      </main>
    </div>
  );
}
