import { useEffect, useState } from 'preact/hooks';

/**
 * The page and its query live in the URL's fragment (`#/search?host=a&range=1h`): a search can be
 * shared and reloaded, and the server needs no fallback route for the pages (the fragment never
 * reaches it). Repeated parameters (`host=a&host=b`) carry several values of one filter.
 */
export const pages = ['overview', 'search', 'tail', 'adapters', 'status'] as const;
export type Page = (typeof pages)[number];

export interface Route {
  page: Page;
  params: URLSearchParams;
}

export function currentRoute(): Route {
  const hash = location.hash.replace(/^#\/?/, '');
  const q = hash.indexOf('?');
  const name = q < 0 ? hash : hash.slice(0, q);
  const page = (pages as readonly string[]).includes(name) ? (name as Page) : 'overview';
  return { page, params: new URLSearchParams(q < 0 ? '' : hash.slice(q + 1)) };
}

export function hrefOf(page: Page, params?: URLSearchParams): string {
  const qs = params?.toString() ?? '';
  return `#/${page}${qs === '' ? '' : `?${qs}`}`;
}

/** Goes to a page (a new history entry, so Back returns to the previous query). */
export function navigate(page: Page, params?: URLSearchParams): void {
  location.hash = hrefOf(page, params);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const on = () => setRoute(currentRoute());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}
