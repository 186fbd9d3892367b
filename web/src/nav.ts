/** The sidebar, in order. A page joins the admin by adding a row here and a route in app.tsx. */
export const nav: { path: string; label: string; adminOnly?: boolean }[] = [
  { path: '/admin/', label: 'Overview' },
  { path: '/admin/modules', label: 'Modules' },
  { path: '/admin/apps', label: 'Connected apps' },
  { path: '/admin/tokens', label: 'Tokens', adminOnly: true },
  { path: '/admin/logs', label: 'Logs', adminOnly: true },
  { path: '/admin/audit', label: 'Audit log', adminOnly: true },
  { path: '/admin/users', label: 'Users', adminOnly: true },
  { path: '/admin/settings', label: 'Settings', adminOnly: true },
  { path: '/admin/backup', label: 'Backup', adminOnly: true },
  { path: '/admin/upgrade', label: 'Upgrade', adminOnly: true },
  { path: '/admin/account', label: 'Account' },
];
