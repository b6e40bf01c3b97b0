// The show's chat on the viewer page: the latest messages, newest at the bottom, a box to send one,
// and what the server refused of this viewer's messages ("slow down", "you are muted in this chat"),
// shown for a moment. A message the host deletes disappears.
import { h, replaceChildren } from '../ui/element.ts';
import type { ChatMessage } from './viewer-socket.ts';

/** The page keeps this many messages; older ones scroll away for good. */
const MESSAGES_KEPT = 100;
/** The server's limit on a message. */
const MAX_MESSAGE_LENGTH = 500;
const NOTICE_MS = 4000;
/** The list follows new messages unless the viewer scrolled further up than this to read. */
const FOLLOW_SLACK_PX = 40;

export interface ChatSender {
  /** Whether the message went out (false while the socket reconnects). */
  chat(text: string): boolean;
}

export class ChatPanel {
  readonly #list: HTMLOListElement;
  readonly #input: HTMLInputElement;
  readonly #send: HTMLButtonElement;
  readonly #notice: HTMLElement;
  readonly #messages = new Map<string, HTMLElement>();
  readonly #sender: ChatSender;
  readonly #viewerId: string;
  #noticeTimer: ReturnType<typeof setTimeout> | undefined;

  /** `viewerId`: this page's viewer, whose own messages read "You". */
  constructor(root: HTMLElement, sender: ChatSender, viewerId: string) {
    this.#sender = sender;
    this.#viewerId = viewerId;
    this.#list = h('ol', { class: 'messages', 'data-testid': 'chat-messages', 'aria-live': 'polite' });
    this.#input = h('input', {
      type: 'text',
      name: 'text',
      maxLength: MAX_MESSAGE_LENGTH,
      autocomplete: 'off',
      placeholder: 'Say something…',
      'aria-label': 'Chat message',
      'data-testid': 'chat-input',
    });
    this.#send = h('button', { type: 'submit', class: 'primary', text: 'Send', 'data-testid': 'chat-send' });
    this.#notice = h('p', { class: 'notice', role: 'status', 'data-testid': 'chat-notice', hidden: true });
    replaceChildren(
      root,
      h('h2', { text: 'Chat' }),
      this.#list,
      this.#notice,
      h('form', { class: 'send', on: { submit: (event) => (event.preventDefault(), this.#submit()) } }, this.#input, this.#send),
    );
    this.connected(false);
  }

  add(message: ChatMessage): void {
    if (this.#messages.has(message.id)) return;
    const following = this.#list.scrollHeight - this.#list.scrollTop - this.#list.clientHeight <= FOLLOW_SLACK_PX;
    const mine = message.viewer.id === this.#viewerId;
    const name = message.viewer.name ?? (mine ? 'You' : `Viewer ${message.viewer.id.slice(-4)}`);
    const item = h(
      'li',
      { class: mine ? 'mine' : undefined, dataset: { messageId: message.id }, 'data-testid': 'chat-message' },
      h('b', { class: 'who', text: name }),
      ' ',
      h('span', { class: 'text', text: message.text }),
    );
    this.#messages.set(message.id, item);
    this.#list.append(item);
    while (this.#messages.size > MESSAGES_KEPT) {
      const [oldest] = this.#messages.keys();
      this.remove(oldest!);
    }
    if (following || mine) this.#list.scrollTop = this.#list.scrollHeight;
  }

  /** The host deleted it. */
  remove(messageId: string): void {
    this.#messages.get(messageId)?.remove();
    this.#messages.delete(messageId);
  }

  /** Something the server refused of this viewer's, for a moment. */
  notice(text: string): void {
    clearTimeout(this.#noticeTimer);
    this.#notice.textContent = text;
    this.#notice.hidden = false;
    this.#noticeTimer = setTimeout(() => (this.#notice.hidden = true), NOTICE_MS);
  }

  /** Sending waits while the socket (re)connects. */
  connected(open: boolean): void {
    this.#send.disabled = !open;
  }

  #submit(): void {
    const text = this.#input.value.trim();
    if (text === '') return;
    if (!this.#sender.chat(text)) return this.notice('Not connected: reconnecting…');
    this.#input.value = '';
  }
}
