/** The hub's rule for new passwords; checked here too so a typo is caught before a round trip. */
export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 256;

export const PASSWORD_HINT = `${PASSWORD_MIN} to ${PASSWORD_MAX} characters. A few unrelated words make a good one.`;

/** Which field of a new password and its confirmation is wrong, and why; undefined if fine. */
export function checkNewPassword(
  password: string,
  confirm: string,
): { field: 'password' | 'confirm'; message: string } | undefined {
  // Code points, not UTF-16 units: an emoji is one character to the user.
  const length = [...password].length;
  if (length < PASSWORD_MIN) {
    return {
      field: 'password',
      message: `The new password is too short: it needs at least ${PASSWORD_MIN} characters (it has ${length}).`,
    };
  }
  if (length > PASSWORD_MAX) {
    return {
      field: 'password',
      message: `The new password is too long: at most ${PASSWORD_MAX} characters (it has ${length}).`,
    };
  }
  if (password !== confirm) {
    return {
      field: 'confirm',
      message: 'The confirmation does not match the new password: type the same password twice.',
    };
  }
  return undefined;
}

/**
 * Checks a new password typed twice before anything is sent: marks the
 * wrong field and shows why. Returns true when the form may be submitted.
 */
export function acceptNewPassword(
  password: string,
  confirm: string,
  markInvalid: (field: 'password' | 'confirm' | undefined) => void,
  showError: (message: string) => void,
): boolean {
  const problem = checkNewPassword(password, confirm);
  markInvalid(problem?.field);
  if (problem) showError(problem.message);
  return !problem;
}
