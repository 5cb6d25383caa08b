import type { ParamProblem } from './filters.js';
import type { ApiOptions } from './options.js';

/**
 * page/per_page paging of the events query, beside the cursor. An offset costs what it skips, so its
 * depth is bounded (page × per_page ≤ query.max_offset) and the cursor stays the way to walk further.
 */
export interface Paging {
  page: number;
  perPage: number;
}

interface PagingParams {
  page?: number;
  per_page?: number;
  limit?: number;
  next?: string;
}

/** The page requested (null: cursor mode); conflicts and too-deep pages are added to `problems`. */
export function pagingOf(q: PagingParams, options: ApiOptions, problems: ParamProblem[]): Paging | null {
  if (q.page === undefined && q.per_page === undefined) return null;
  if (q.next !== undefined) {
    problems.push({
      parameter: 'page',
      message: 'cannot be combined with next: page with page/per_page, or walk with the cursor, not both',
    });
  }
  if (q.limit !== undefined) {
    problems.push({
      parameter: 'limit',
      message: 'cannot be combined with page/per_page: per_page sets the size',
    });
  }
  const paging = { page: q.page ?? 1, perPage: q.per_page ?? options.query.default_limit };
  const depth = paging.page * paging.perPage;
  if (depth > options.query.max_offset) {
    problems.push({
      parameter: 'page',
      message:
        `page × per_page is ${depth}, at most ${options.query.max_offset}: deeper pages cost more with each ` +
        'one, so walk further with the cursor (the next of any page continues right after it)',
    });
  }
  return paging;
}

/** Of a page's byte budget, what the answer around the events may take (next, total, meta, truncated). */
export const PAGE_ENVELOPE_BYTES = 1024;

export const pageMetaSchema = {
  type: 'object',
  properties: {
    current_page: { type: 'integer' },
    per_page: { type: 'integer' },
    total_pages: {
      type: ['integer', 'null'],
      description: 'ceil(total_count / per_page); a lower bound when total_count_capped.',
    },
    total_count: {
      type: ['integer', 'null'],
      description: 'Matching events, counted up to query.max_offset; null when counting took too long.',
    },
    total_count_capped: {
      type: 'boolean',
      description: 'true: at least total_count events match (the count stopped at query.max_offset).',
    },
  },
  required: ['current_page', 'per_page', 'total_pages', 'total_count', 'total_count_capped'],
} as const;

export function pageMeta(p: Paging, total: number | null, exact: boolean) {
  return {
    current_page: p.page,
    per_page: p.perPage,
    total_pages: total === null ? null : Math.ceil(total / p.perPage),
    total_count: total,
    total_count_capped: total !== null && !exact,
  };
}
