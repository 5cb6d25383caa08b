import { useState } from 'preact/hooks';
import { type FilterValues, filterFields, rangePresets } from '../filters';

/** datetime-local wants `YYYY-MM-DDTHH:MM` in local time; the URL holds ISO 8601 UTC. */
function toLocalInput(iso: string | undefined): string {
  if (iso === undefined || iso === '') return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const off = d.getTimezoneOffset() * 60_000;
  return new Date(d.getTime() - off).toISOString().slice(0, 19);
}

function fromLocalInput(v: string): string {
  return v === '' ? '' : new Date(v).toISOString();
}

/** Every filter of the events API as form fields; `withRange` adds the time range (not for the tail). */
export function FilterForm(props: {
  values: FilterValues;
  withRange: boolean;
  submitLabel: string;
  onSubmit: (v: FilterValues) => void;
}) {
  const [v, setV] = useState<FilterValues>(props.values);
  const set = (k: string, x: string) => setV((old) => ({ ...old, [k]: x }));
  const custom = v.from !== undefined && v.from !== '';
  return (
    <form
      class="filters"
      onSubmit={(e) => {
        e.preventDefault();
        props.onSubmit(v);
      }}
    >
      {props.withRange && (
        <div class="field range">
          <label for="f-range">Time</label>
          <select
            id="f-range"
            name="range"
            value={custom ? 'custom' : (v.range ?? '1h')}
            onChange={(e) => {
              const x = (e.target as HTMLSelectElement).value;
              if (x === 'custom') {
                setV((o) => ({ ...o, from: new Date(Date.now() - 3_600_000).toISOString(), to: '' }));
              } else setV((o) => ({ ...o, range: x, from: '', to: '' }));
            }}
          >
            {rangePresets.map((r) => (
              <option value={r.value} key={r.value}>
                {r.label}
              </option>
            ))}
            <option value="custom">custom…</option>
          </select>
          {custom && (
            <>
              <input
                type="datetime-local"
                step="1"
                name="from"
                aria-label="from"
                value={toLocalInput(v.from)}
                onInput={(e) => set('from', fromLocalInput((e.target as HTMLInputElement).value))}
              />
              <input
                type="datetime-local"
                step="1"
                name="to"
                aria-label="to"
                value={toLocalInput(v.to)}
                onInput={(e) => set('to', fromLocalInput((e.target as HTMLInputElement).value))}
              />
            </>
          )}
        </div>
      )}
      {filterFields.map((f) => (
        <div class="field" key={f.name}>
          <label for={`f-${f.name}`}>{f.label}</label>
          <input
            id={`f-${f.name}`}
            name={f.name}
            value={v[f.name] ?? ''}
            placeholder={'hint' in f ? f.hint : ''}
            onInput={(e) => set(f.name, (e.target as HTMLInputElement).value)}
          />
        </div>
      ))}
      <div class="field actions">
        <button type="submit">{props.submitLabel}</button>
      </div>
    </form>
  );
}
