// The host console, /console: sign in with the admin token (kept for this tab only), create and pick
// streams, and run the show from the stream's page.
import { byId, h, replaceChildren } from '../ui/element.ts';
import { AdminApi, ApiError, type StreamView } from './admin-api.ts';
import { StreamDetail } from './stream-detail.ts';

const TOKEN_KEY = 'livecue.adminToken';
const LIST_POLL_MS = 5000;

const app = byId('app');
const signOut = byId<HTMLButtonElement>('sign-out');

function showSignIn(error?: string): void {
  signOut.hidden = true;
  const token = h('input', {
    type: 'password',
    name: 'token',
    autocomplete: 'current-password',
    placeholder: 'lca_…',
    required: true,
    'aria-label': 'Admin token',
  });
  const form = h(
    'form',
    { class: 'panel sign-in' },
    h('h2', { text: 'Sign in' }),
    h('p', { class: 'subtle', text: 'Paste the admin token (printed by ./scripts/start.sh, kept in data/admin-token). It stays in this browser tab only.' }),
    token,
    h('button', { type: 'submit', class: 'primary', text: 'Sign in' }),
    error && h('p', { class: 'message error', text: error }),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void signIn(token.value.trim());
  });
  replaceChildren(app, form);
  token.focus();
}

async function signIn(token: string): Promise<void> {
  const api = new AdminApi(token);
  try {
    await api.listStreams();
  } catch (error) {
    sessionStorage.removeItem(TOKEN_KEY);
    showSignIn(error instanceof ApiError && error.status === 401 ? 'That token was not accepted.' : `livecue did not answer: ${(error as Error).message}`);
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  new Console(api);
}

class Console {
  readonly #api: AdminApi;
  readonly #keys = new Map<string, string>();
  readonly #list = h('ul', { class: 'stream-list', 'data-testid': 'streams' });
  readonly #detailRoot = h('section', { class: 'detail-root' });
  #streams: StreamView[] = [];
  #detail: StreamDetail | undefined;
  #selected: string | undefined = new URLSearchParams(location.hash.slice(1)).get('stream') ?? undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(api: AdminApi) {
    this.#api = api;
    signOut.hidden = false;
    signOut.onclick = () => {
      clearTimeout(this.#timer);
      this.#detail?.close();
      sessionStorage.removeItem(TOKEN_KEY);
      showSignIn();
    };
    const title = h('input', { type: 'text', placeholder: 'Spring collection launch', required: true, maxLength: 200, 'aria-label': 'New stream title' });
    const create = h('form', { class: 'create' }, title, h('button', { type: 'submit', class: 'primary', text: 'Create stream' }));
    create.addEventListener('submit', async (event) => {
      event.preventDefault();
      try {
        const stream = await this.#api.createStream(title.value.trim());
        if (stream.ingest.streamKey) this.#keys.set(stream.id, stream.ingest.streamKey);
        title.value = '';
        await this.#loadList();
        this.#select(stream.id);
      } catch (error) {
        alert((error as Error).message);
      }
    });
    replaceChildren(
      app,
      h('div', { class: 'layout' }, h('aside', { class: 'panel streams' }, h('h2', { text: 'Streams' }), create, this.#list), this.#detailRoot),
    );
    void this.#loadList().then(() => {
      if (this.#selected && this.#streams.some((stream) => stream.id === this.#selected)) this.#select(this.#selected);
      else this.#renderEmpty();
    });
  }

  async #loadList(): Promise<void> {
    clearTimeout(this.#timer);
    try {
      this.#streams = await this.#api.listStreams();
      this.#renderList();
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return showSignIn('The token is no longer accepted.');
    }
    this.#timer = setTimeout(() => void this.#loadList(), LIST_POLL_MS);
  }

  #renderList(): void {
    const streams = [...this.#streams].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    replaceChildren(
      this.#list,
      ...streams.map((stream) => {
        const item = h(
          'li',
          { class: stream.id === this.#selected ? 'selected' : '', dataset: { streamId: stream.id } },
          h(
            'button',
            { type: 'button', class: 'stream-button' },
            h('span', { text: stream.title }),
            h('span', { class: `status status-${stream.status}`, text: stream.status }),
          ),
        );
        item.querySelector('button')!.addEventListener('click', () => this.#select(stream.id));
        return item;
      }),
      streams.length === 0 && h('li', { class: 'subtle', text: 'No stream yet: create one above.' }),
    );
  }

  #renderEmpty(): void {
    replaceChildren(this.#detailRoot, h('div', { class: 'panel empty' }, h('p', { text: 'Create a stream, or pick one, to go live and sell.' })));
  }

  #select(id: string): void {
    this.#selected = id;
    history.replaceState(null, '', `#stream=${id}`);
    this.#detail?.close();
    this.#detail = new StreamDetail(this.#api, id, this.#keys, () => void this.#loadList());
    replaceChildren(this.#detailRoot, this.#detail.element);
    this.#renderList();
  }
}

const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved) void signIn(saved);
else showSignIn();
