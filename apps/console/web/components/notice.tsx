import type { ComponentChildren } from 'preact';
import type { ApiError, Whoami } from '../api';

export function ErrorNote({ error }: { error: unknown }) {
  if (error === null || error === undefined) return null;
  const e = error as Partial<ApiError> & { message?: string };
  return (
    <p class="error" role="alert">
      {e.code !== undefined ? `${e.code}: ` : ''}
      {e.message ?? String(error)}
    </p>
  );
}

/** The page (or action) needs a scope the session's key does not hold: say so instead of failing. */
export function missingScope(me: Whoami | null, scope: string): string | null {
  if (me === null || me.scopes.includes(scope)) return null;
  return `This needs the ${scope} scope; key ${me.id} has ${me.scopes.join(', ') || 'none'}.`;
}

export function ScopeNote({ text, children }: { text: string | null; children?: ComponentChildren }) {
  if (text === null) return <>{children}</>;
  return (
    <p class="scope" role="alert" data-testid="scope-missing">
      {text}
    </p>
  );
}
