// A read-only value with a copy button, optionally masked (stream keys) until the host reveals it.
import { h } from '../ui/element.ts';

export function maskSecret(secret: string): string {
  // Keep the prefix so the host can tell a key from a URL; nothing of the secret part is shown.
  const prefix = secret.includes('_') ? secret.slice(0, secret.indexOf('_') + 1) : '';
  return `${prefix}${'•'.repeat(20)}`;
}

async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // No clipboard API (plain http on a remote host): the field's text can still be selected.
    return false;
  }
}

export function copyField(label: string, value: string, options: { masked?: boolean; testId?: string } = {}): HTMLElement {
  let revealed = !options.masked;
  const output = h('code', { class: 'value', text: revealed ? value : maskSecret(value), 'data-testid': options.testId });
  const copy = h('button', { type: 'button', class: 'small', text: 'Copy' });
  copy.addEventListener('click', async () => {
    copy.textContent = (await copyText(value)) ? 'Copied' : 'Select and copy';
    setTimeout(() => (copy.textContent = 'Copy'), 1500);
  });
  const reveal =
    options.masked &&
    h('button', {
      type: 'button',
      class: 'small',
      text: 'Show',
      on: {
        click: (event) => {
          revealed = !revealed;
          output.textContent = revealed ? value : maskSecret(value);
          (event.currentTarget as HTMLButtonElement).textContent = revealed ? 'Hide' : 'Show';
        },
      },
    });
  return h('div', { class: 'field' }, h('span', { class: 'label', text: label }), h('div', { class: 'row' }, output, reveal, copy));
}
