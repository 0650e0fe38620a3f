const C=3744,J=[3744],L={13744:((R,m,l)=>{l.r(m),l.d(m,{default:()=>M,inputs:()=>y});var H=l(24175),T=l(26647),x=l(47685),z=l(24256),g=l(21686),$=l(26003),p=l(316);const v={deployed:"✅ deployed","rolled-back":"↩️ rolled back",failed:"❌ failed",planned:"📝 planned (dry run)"},j={"rolled-out":"✅ rolled out",failed:"❌ failed",undone:"↩️ undone","undo-failed":"❌ undo failed",planned:"📝 planned",unchanged:"unchanged"};function u(e){return e===void 0?"—":Object.entries(e.images).map(([n,a])=>`${n}=${a}`).join(", ")}function c(e,n){return e===void 0?n??"—":`${e} → ${n??"—"}`}function h(e){const n=[],a=e.strategy==="helm"&&e.helm?`helm release \`${e.helm.release}\``:`\`${e.app}\``;n.push(`## ${e.strategy==="helm"?"Helm":"Rolling"} deploy of ${a} in \`${e.namespace}\`: ${v[e.verdict]}
`),e.failure&&n.push(`**Why:** ${e.failure.split(`
`)[0]}
`);const r=Object.entries(e.settings??{});r.length>0&&n.push(`**With:** ${r.map(([s,i])=>`${s} \`${i.replace(/`/g,"'")}\``).join(" · ")}
`);const t=e.helm;if(t&&n.push((0,p.tp)(["release","chart","chart version","app version","revision before","revision after","status"],[[t.release,t.chart,c(t.previousChartVersion,t.chartVersion),c(t.previousAppVersion,t.appVersion),t.previousRevision??"— (first install)",t.rollbackRevision!==void 0?`${t.revision} → rolled back as ${t.rollbackRevision}`:t.revision??"—",t.status??"—"]])),e.workloads.length>0&&n.push((0,p.tp)(["workload","rollout","revision before","images before","revision after","images after","took","detail"],e.workloads.map(s=>[`${s.kind.toLowerCase()}/${s.name}`,j[s.status]??s.status,s.before?.revision??(s.before||e.strategy==="helm"?"—":"new"),u(s.before),s.after?.revision??"—",u(s.after),s.elapsedMs===void 0?"":(0,g.a3)(s.elapsedMs),s.message]))),e.explanation.length>0&&n.push(`**Why the rollout is stuck:**

${e.explanation.map(s=>`- ${s}`).join(`
`)}
`),e.analysis&&n.push((0,$.$)(e.analysis,"Monitoring after the rollout")),e.objects.length>0){const s=new Map;for(const i of e.objects)s.set(i.outcome,(s.get(i.outcome)??0)+1);n.push((0,p.zH)(`Objects: ${[...s].map(([i,d])=>`${d} ${i}`).join(", ")}`,(0,p.tp)(["object","namespace","outcome","from"],e.objects.map(i=>[`${i.kind.toLowerCase()}/${i.name}`,i.namespace??"(cluster)",i.outcome,i.source??""]))))}return t&&t.commands.length>0&&n.push((0,p.zH)("Helm commands",`\`\`\`
${t.commands.map(s=>s.join(" ")).join(`
`)}
\`\`\``)),e.timeline.length>0&&n.push((0,p.zH)(`Timeline (${e.requests} API requests)`,(0,p.tp)(["time","event"],e.timeline.map(s=>[s.at,s.event])))),`${n.join(`
`)}
`}function b(e){const n=e.workloads.map(r=>u(r.after)).filter(r=>r!=="—"),a=e.workloads.map(r=>u(r.before)).filter(r=>r!=="—");return{result:{...e,verdict:e.verdict},outputs:{result:e.verdict,phase:e.verdict,weight:e.verdict==="deployed"?100:0,"canary-image":n.join("; "),"stable-image":(e.verdict==="deployed"?n:a).join("; "),...e.analysis?{analysis:JSON.stringify(e.analysis)}:{}},...e.failure?{failure:e.failure}:{}}}var O=l(5186),V=l(82275),f=l(21089),S=l(20443);const y=(0,O.pf)({...f.zy,...V.L7,...S.j$});function I(e){const n=e.record,a=s=>(n?.workloads??[]).flatMap(i=>Object.entries(i[s]).map(([d,o])=>`${i.stable}/${d}=${o}`)).join(`
`),r=e.analyses.map(({step:s,weight:i,result:d})=>({step:s+1,weight:i,verdict:d.verdict,reason:d.reason,checks:d.measurements.map(o=>({metric:o.metric,elapsedSeconds:Math.round(o.elapsed/1e3),value:o.value??null,control:o.control??null,threshold:o.threshold,outcome:o.outcome}))})),t={verdict:e.result,reason:e.reason,phase:n?.phase,weight:n?.weight??0,app:n?.app,stableVersion:n?.stableVersion,canaryVersion:n?.canaryVersion,steps:n?.verdicts??[],timeline:e.timeline,routing:e.routing,...e.plan?{plan:e.plan}:{}};return{result:t,outputs:{result:e.result,report:JSON.stringify(t),phase:n?.phase??"",weight:n?.weight??0,"stable-image":a("stableImages"),"canary-image":a("canaryImages"),analysis:JSON.stringify(r)},...e.result==="aborted"||e.result==="rolled-back"?{failure:e.reason}:{}}}const M={name:"canary-promote",inputs:y,verdictResult:!0,async run(e,n){const a=await(0,f.T_)(e,(0,f.F3)(n));return a.kind==="in-place"?(e.summary.append(`${h(a.outcome)}${a.deployment?`
${a.deployment}`:""}`),b(a.outcome)):(e.summary.append(`## canary-promote

${(0,f.Qe)(a.outcome)}${a.deployment?`
${a.deployment}`:""}`),a.notes.length>0&&e.summary.append(`${a.notes.join(`

`)}
`),I(a.outcome))},async post(e,n){const a=await(0,f.g5)(e,n);if(a===void 0)return;const r=a.deployment?`
${a.deployment}`:"",t=a.kind==="in-place"?h(a.outcome):(0,f.Qe)(a.outcome),s=a.kind==="in-place"?"":a.notes.map(i=>`
${i}
`).join("");e.summary.append(`## canary-promote (post)

${t}${r}${s}`)}}})};export{C as id,J as ids,L as modules};
