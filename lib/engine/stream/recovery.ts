/**
 * `stream_recovery: "continue"` (SPEC §6): after a committed stream breaks, the next target of
 * the plan able to continue an assistant message (its adapter's `supportsPrefill`, or the
 * target's `supports_prefill`) is asked to go on from the text already sent. Targets that cannot
 * continue are never sent a prefill.
 */
import { attemptCall, type AttemptCall, type RunContext } from '../context.js';
import type { Outcome } from '../outcome.js';
import type { PlanNode, PlanTarget } from '../plan.js';
import type { Recover } from './passthrough.js';

/** Every target leaf in document order. */
function leaves(node: PlanNode): PlanTarget[] {
  return node.kind === 'target' ? [node] : node.children.flatMap(leaves);
}

/**
 * The recovery of a stream served by `leaf`, or undefined when its config does not ask for one.
 * `attempt` makes the continuing attempt (itself recoverable, so a chain can continue twice).
 */
export function recoverer(ctx: RunContext, leaf: PlanTarget, attempt: (call: AttemptCall, ctx: RunContext) => Promise<Outcome>): Recover | undefined {
  if (leaf.streamRecovery !== 'continue' || ctx.input.endpoint !== 'chat') return undefined;
  return async (text) => {
    const { input, deps, plan } = ctx;
    const all = leaves(plan.root);
    for (const candidate of all.slice(all.indexOf(leaf) + 1)) {
      if (ctx.signal.aborted) return undefined;
      const adapter = deps.adapters.get(candidate.target.provider);
      if (candidate.supportsPrefill !== true || !adapter?.endpoints.has('chat') || !adapter.parseStreamEvent) continue;
      const messages = Array.isArray(input.body.messages) ? input.body.messages : [];
      // Providers refuse a prefill that ends in white space; the continuation brings it back.
      const prefill = { role: 'assistant', content: text.replace(/\s+$/, '') };
      const body = { ...input.body, ...candidate.overrideParams, messages: [...messages, prefill] };
      const now = Date.now();
      const left = ctx.totalBy - now;
      if (left <= 0) return undefined;
      const call = attemptCall(candidate, adapter, body, false, { forcePassthrough: true, textPrefix: prefill.content });
      call.timeoutMs = Math.min(candidate.requestTimeout, left);
      call.firstContentBy = now + call.timeoutMs;
      const result = await attempt(call, ctx);
      if (result.kind === 'stream') return result;
    }
    return undefined;
  };
}
