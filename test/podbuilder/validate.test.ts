// One row per validation rule: the input and the exact errors it must give.
import { describe, expect, it } from 'vitest';
import { type BuildOptions, type FieldError, build, mapImageConfigResolver, validate } from '@pipod/podbuilder';

const TASK = `apiVersion: tekton.dev/v1
kind: Task
metadata: {name: t}
spec:
  params: [{name: p, default: x}]
  results: [{name: r}]
  workspaces: [{name: w}]
  steps: [{name: s, image: busybox, script: echo}]
`;
const pipeline = (tasks: string, extra = ''): string => `apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: pl}
spec:
  workspaces: [{name: ws}]
${extra}  tasks:
${tasks}`;
const ok = `    - name: a
      taskRef: {name: t}
      workspaces: [{name: w, workspace: ws}]
`;

interface Row {
  readonly rule: string;
  readonly docs: readonly string[];
  readonly options?: BuildOptions;
  readonly errors: readonly FieldError[];
}

const e = (source: string, path: string, message: string): FieldError => ({ source, path, message });

const rows: Row[] = [
  {
    rule: 'unknown task ref',
    docs: [TASK, pipeline(`    - name: a\n      taskRef: {name: nope}\n`)],
    errors: [e('Pipeline/pl', 'spec.tasks[0].taskRef.name', 'unknown task "nope": no Task of that name among the documents given')],
  },
  {
    rule: 'unknown pipeline ref',
    docs: ['apiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata: {name: r}\nspec:\n  pipelineRef: {name: gone}\n'],
    errors: [e('PipelineRun/r', 'spec.pipelineRef.name', 'unknown pipeline "gone": no Pipeline of that name among the documents given')],
  },
  {
    rule: 'dependency cycle, named',
    docs: [TASK, pipeline(`${ok}    - name: b\n      runAfter: [c]\n      taskRef: {name: t}\n      workspaces: [{name: w, workspace: ws}]\n    - name: c\n      taskRef: {name: t}\n      workspaces: [{name: w, workspace: ws}]\n      params: [{name: p, value: $(tasks.b.results.r)}]\n`)],
    errors: [e('Pipeline/pl', 'spec.tasks', 'dependency cycle: b -> c -> b')],
  },
  {
    rule: 'duplicate pipeline task names',
    docs: [TASK, pipeline(`${ok}${ok}`)],
    errors: [e('Pipeline/pl', 'spec.tasks[1].name', 'duplicate pipeline task name "a"')],
  },
  {
    rule: 'duplicate step names',
    docs: ['apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec:\n  steps:\n    - {name: s, image: busybox, script: echo}\n    - {name: s, image: busybox, script: echo}\n'],
    errors: [e('Task/t', 'spec.steps[1].name', 'duplicate step name "s"')],
  },
  {
    rule: 'duplicate param, workspace, result, sidecar and volume names',
    docs: ['apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec:\n  params: [{name: p, default: a}, {name: p, default: a}]\n  workspaces: [{name: w}, {name: w}]\n  results: [{name: r}, {name: r}]\n  volumes: [{name: v, emptyDir: {}}, {name: v, emptyDir: {}}]\n  sidecars: [{name: c, image: x, script: run}, {name: c, image: x, script: run}]\n  steps: [{name: s, image: busybox, script: echo}]\n'],
    errors: [
      e('Task/t', 'spec.params[1].name', 'duplicate param name "p"'),
      e('Task/t', 'spec.workspaces[1].name', 'duplicate workspace name "w"'),
      e('Task/t', 'spec.results[1].name', 'duplicate result name "r"'),
      e('Task/t', 'spec.sidecars[1].name', 'duplicate sidecar name "c"'),
      e('Task/t', 'spec.volumes[1].name', 'duplicate volume name "v"'),
    ],
  },
  {
    rule: 'invalid param and result names (a sidecar without a name is fine, as in Tekton)',
    docs: ['apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec:\n  params: [{name: 1p, default: a}]\n  results: [{name: "r!"}]\n  sidecars: [{image: x, script: run}]\n  steps: [{name: s, image: busybox, script: echo}]\n'],
    errors: [
      e('Task/t', 'spec.params[0].name', 'invalid param name "1p": use letters, digits, \'_\', \'-\' and \'.\', starting with a letter or \'_\''),
      e('Task/t', 'spec.results[0].name', 'invalid result name "r!": use letters, digits, \'-\', \'_\' and \'.\', starting and ending with a letter or digit'),
    ],
  },
  {
    rule: 'two runs in one input: each is checked on its own (both valid here)',
    docs: [TASK, 'apiVersion: tekton.dev/v1\nkind: TaskRun\nmetadata: {name: a}\nspec:\n  taskRef: {name: t}\n', 'apiVersion: tekton.dev/v1\nkind: TaskRun\nmetadata: {name: b}\nspec:\n  taskRef: {name: t}\n'],
    errors: [],
  },
  {
    rule: 'TaskRun without a required param',
    docs: ['apiVersion: tekton.dev/v1\nkind: TaskRun\nmetadata: {name: tr}\nspec:\n  taskSpec:\n    params: [{name: need}]\n    steps: [{name: s, image: busybox, script: echo $(params.need)}]\n'],
    errors: [e('TaskRun/tr', 'spec.params', 'missing value for required param "need" (declared at TaskRun/tr spec.taskSpec.params[0])')],
  },
  {
    rule: 'invalid pipeline task name (DNS-1123)',
    docs: [TASK, pipeline(`    - name: Build_It\n      taskRef: {name: t}\n      workspaces: [{name: w, workspace: ws}]\n`)],
    errors: [e('Pipeline/pl', 'spec.tasks[0].name', 'invalid name "Build_It": must be a DNS-1123 label (at most 63 lower-case letters, digits and \'-\', starting and ending with a letter or digit)')],
  },
  {
    rule: 'invalid step name (DNS-1123)',
    docs: ['apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec:\n  steps:\n    - {name: -s, image: busybox, script: echo}\n'],
    errors: [e('Task/t', 'spec.steps[0].name', 'invalid name "-s": must be a DNS-1123 label (at most 63 lower-case letters, digits and \'-\', starting and ending with a letter or digit)')],
  },
  {
    rule: 'invalid metadata.name',
    docs: ['apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: My.Task}\nspec:\n  steps: [{name: s, image: busybox, script: echo}]\n'],
    errors: [e('Task/My.Task', 'metadata.name', 'invalid name "My.Task": must be a DNS-1123 subdomain (lower-case letters, digits, \'-\' and \'.\', starting and ending with a letter or digit)')],
  },
  {
    rule: 'missing required task param',
    docs: ['apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec:\n  params: [{name: need}]\n  steps: [{name: s, image: busybox, script: echo $(params.need)}]\n', pipeline('    - name: a\n      taskRef: {name: t}\n')],
    errors: [e('Pipeline/pl', 'spec.tasks[0].params', 'missing value for required param "need" of task "t"')],
  },
  {
    rule: 'missing required pipeline param (run)',
    docs: [TASK, pipeline(ok, '  params: [{name: must}]\n'), 'apiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata: {name: r}\nspec:\n  pipelineRef: {name: pl}\n'],
    errors: [e('PipelineRun/r', 'spec.params', 'missing value for required param "must" (declared at Pipeline/pl spec.params[0])')],
  },
  {
    rule: 'missing required pipeline param (no run)',
    docs: [TASK, pipeline(ok, '  params: [{name: must}]\n')],
    errors: [e('Pipeline/pl', 'spec.params[0]', 'param "must" has no default and no value was given (use -p must=VALUE)')],
  },
  {
    rule: 'result the task does not declare',
    docs: [TASK, pipeline(`${ok}    - name: b\n      taskRef: {name: t}\n      workspaces: [{name: w, workspace: ws}]\n      params: [{name: p, value: $(tasks.a.results.nope)}]\n`)],
    errors: [e('Pipeline/pl', 'spec.tasks[1].params[0].value', 'task "a" does not declare result "nope"')],
  },
  {
    rule: 'result from a task that is not upstream (finally)',
    docs: [TASK, pipeline(`${ok}    - name: b\n      taskRef: {name: t}\n      workspaces: [{name: w, workspace: ws}]\n      params: [{name: p, value: $(tasks.f.results.r)}]\n  finally:\n    - name: f\n      taskRef: {name: t}\n      workspaces: [{name: w, workspace: ws}]\n`)],
    errors: [e('Pipeline/pl', 'spec.tasks[1].params[0].value', 'result "r" of finally task "f" is not available to pipeline tasks: it is not upstream')],
  },
  {
    rule: 'result reference to an unknown task',
    docs: [TASK, pipeline(`    - name: a\n      taskRef: {name: t}\n      workspaces: [{name: w, workspace: ws}]\n      when: [{input: $(tasks.ghost.results.r), operator: in, values: [x]}]\n`)],
    errors: [e('Pipeline/pl', 'spec.tasks[0].when[0].input', 'reference to unknown pipeline task "ghost"')],
  },
  {
    rule: 'runAfter an unknown task',
    docs: [TASK, pipeline(`    - name: a\n      runAfter: [zzz]\n      taskRef: {name: t}\n      workspaces: [{name: w, workspace: ws}]\n`)],
    errors: [e('Pipeline/pl', 'spec.tasks[0].runAfter[0]', 'runAfter names unknown pipeline task "zzz"')],
  },
  {
    rule: 'pipeline results: $(finally.…) of a dag task, $(tasks.…) of a finally task, an undeclared finally result',
    docs: [TASK, pipeline(`${ok}  finally:\n    - name: f\n      taskRef: {name: t}\n      workspaces: [{name: w, workspace: ws}]\n`,
      '  results:\n    - {name: x, value: $(finally.a.results.r)}\n    - {name: y, value: $(tasks.f.results.r)}\n    - {name: z, value: $(finally.f.results.nope)}\n    - {name: ok, value: $(finally.f.results.r)}\n')],
    errors: [
      e('Pipeline/pl', 'spec.results[0].value', '"a" is not a finally task: use $(tasks.a.results.r)'),
      e('Pipeline/pl', 'spec.results[1].value', '"f" is a finally task: use $(finally.f.results.r)'),
      e('Pipeline/pl', 'spec.results[2].value', 'task "f" does not declare result "nope"'),
    ],
  },
  {
    rule: 'finally task with runAfter',
    docs: [TASK, pipeline(`${ok}  finally:\n    - name: f\n      runAfter: [a]\n      taskRef: {name: t}\n      workspaces: [{name: w, workspace: ws}]\n`)],
    errors: [e('Pipeline/pl', 'spec.finally[0].runAfter', 'finally tasks cannot use runAfter')],
  },
  {
    rule: "task's required workspace not bound by the pipeline task",
    docs: [TASK, pipeline('    - name: a\n      taskRef: {name: t}\n')],
    errors: [e('Pipeline/pl', 'spec.tasks[0].workspaces', 'task "t" needs workspace "w" but the pipeline task does not bind it')],
  },
  {
    rule: 'pipeline task binds an undeclared pipeline workspace',
    docs: [TASK, pipeline('    - name: a\n      taskRef: {name: t}\n      workspaces: [{name: w, workspace: other}]\n')],
    errors: [e('Pipeline/pl', 'spec.tasks[0].workspaces[0].workspace', 'the pipeline declares no workspace "other"')],
  },
  {
    rule: 'run binds a workspace the pipeline does not declare',
    docs: [TASK, pipeline(ok), 'apiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata: {name: r}\nspec:\n  pipelineRef: {name: pl}\n  workspaces: [{name: typo, emptyDir: {}}]\n'],
    errors: [e('PipelineRun/r', 'spec.workspaces[0].name', 'workspace "typo" is not declared by the pipeline')],
  },
  {
    rule: 'required task workspace bound to an optional pipeline workspace the run leaves out',
    docs: [TASK, pipeline(ok.replace('workspace: ws', 'workspace: opt'), '  workspaces: [{name: ws}, {name: opt, optional: true}]\n').replace('  workspaces: [{name: ws}]\n  workspaces:', '  workspaces:')],
    errors: [e('Pipeline/pl', 'spec.tasks[0].workspaces[0].workspace', 'task "t" needs workspace "w" but optional pipeline workspace "opt" is not given by the run')],
  },
  {
    rule: 'param of the wrong type (pipeline task value)',
    docs: [TASK, pipeline(`    - name: a\n      taskRef: {name: t}\n      workspaces: [{name: w, workspace: ws}]\n      params: [{name: p, value: [x, y]}]\n`)],
    errors: [e('Pipeline/pl', 'spec.tasks[0].params[0].value', 'param "p" of task "t" is declared string but the value given is array')],
  },
  {
    rule: 'param of the wrong type (array result into a string param)',
    docs: ['apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: arr}\nspec:\n  results: [{name: list, type: array}]\n  steps: [{name: s, image: busybox, script: echo}]\n', TASK, pipeline(`    - name: make\n      taskRef: {name: arr}\n    - name: a\n      taskRef: {name: t}\n      workspaces: [{name: w, workspace: ws}]\n      params: [{name: p, value: $(tasks.make.results.list)}]\n`)],
    errors: [e('Pipeline/pl', 'spec.tasks[1].params[0].value', 'param "p" of task "t" is declared string but result "list" of task "make" is array')],
  },
  {
    rule: 'param of the wrong type (run value)',
    docs: [TASK, pipeline(ok, '  params: [{name: list, type: array}]\n'), 'apiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata: {name: r}\nspec:\n  pipelineRef: {name: pl}\n  params: [{name: list, value: one}]\n'],
    errors: [
      e('PipelineRun/r', 'spec.params[0].value', 'param "list" is declared array but the value given is string'),
      e('PipelineRun/r', 'spec.params', 'missing value for required param "list" (declared at Pipeline/pl spec.params[0])'),
    ],
  },
  {
    rule: 'param default of the wrong type',
    docs: ['apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec:\n  params: [{name: p, type: array, default: x}]\n  steps: [{name: s, image: busybox, script: echo}]\n'],
    errors: [e('Task/t', 'spec.params[0].default', 'default value is string but the param is declared array')],
  },
  {
    rule: 'object param missing keys',
    docs: ['apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec:\n  params: [{name: o, properties: {a: {}, b: {}}}]\n  steps: [{name: s, image: busybox, script: echo $(params.o.a)}]\n', pipeline('    - name: a\n      taskRef: {name: t}\n      params: [{name: o, value: {a: "1"}}]\n')],
    errors: [e('Pipeline/pl', 'spec.tasks[0].params[0].value', 'object param "o" is missing keys "b"')],
  },
  {
    rule: 'enum value not allowed',
    docs: ['apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec:\n  params: [{name: mode, enum: [fast, slow]}]\n  steps: [{name: s, image: busybox, script: echo}]\n', pipeline('    - name: a\n      taskRef: {name: t}\n      params: [{name: mode, value: medium}]\n')],
    errors: [e('Pipeline/pl', 'spec.tasks[0].params[0].value', 'param "mode" value "medium" is not one of "fast", "slow"')],
  },
  {
    rule: 'enum value not allowed (run value and option)',
    docs: [TASK, pipeline(ok, '  params: [{name: mode, enum: [fast, slow], default: fast}]\n'), 'apiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata: {name: r}\nspec:\n  pipelineRef: {name: pl}\n  params: [{name: mode, value: turbo}]\n'],
    errors: [e('PipelineRun/r', 'spec.params[0].value', 'param "mode" value "turbo" is not one of "fast", "slow"')],
  },
  {
    rule: 'undeclared param referenced in a step',
    docs: ['apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec:\n  steps: [{name: s, image: busybox, args: ["$(params.missing)"], command: [echo]}]\n'],
    errors: [e('Task/t', 'spec.steps[0].args[0]', 'undeclared param "missing" (the task declares none)')],
  },
  {
    rule: 'whole array param inside a string',
    docs: ['apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec:\n  params: [{name: list, type: array, default: [a]}]\n  steps: [{name: s, image: busybox, script: "echo $(params.list[*])", args: ["$(params.list[*])", "-x=$(params.list)", "$(params.list[0])"]}]\n'],
    errors: [
      e('Task/t', 'spec.steps[0].args[1]', 'array param "list" must be a whole element of a list (command, args, when values, array params); index it ($(params.list[0])) to use it inside a string'),
      e('Task/t', 'spec.steps[0].script', 'array param "list" must be a whole element of a list (command, args, when values, array params); index it ($(params.list[0])) to use it inside a string'),
    ],
  },
  {
    rule: 'undeclared workspace and result referenced in a script',
    docs: ['apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec:\n  steps: [{name: s, image: busybox, script: "ls $(workspaces.src.path) > $(results.out.path)"}]\n'],
    errors: [
      e('Task/t', 'spec.steps[0].script', 'undeclared workspace "src" (the task declares none)'),
      e('Task/t', 'spec.steps[0].script', 'undeclared result "out"'),
    ],
  },
  {
    rule: 'different serviceAccountName per task (taskRunSpecs)',
    docs: [TASK, pipeline(ok), 'apiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata: {name: r}\nspec:\n  pipelineRef: {name: pl}\n  taskRunTemplate: {serviceAccountName: builder}\n  taskRunSpecs: [{pipelineTaskName: a, serviceAccountName: deployer}]\n'],
    errors: [e('PipelineRun/r', 'spec.taskRunSpecs[0].serviceAccountName', 'one pod has one service account: task "a" cannot use "deployer" while the run uses "builder"')],
  },
  {
    rule: 'matrix fanned out from results',
    docs: [TASK, pipeline(`${ok}    - name: b\n      taskRef: {name: t}\n      workspaces: [{name: w, workspace: ws}]\n      matrix:\n        params: [{name: p, value: "$(tasks.a.results.r[*])"}]\n`)],
    errors: [e('Pipeline/pl', 'spec.tasks[1].matrix', 'one pod cannot fan out a matrix from results: its containers must be known before it starts')],
  },
  {
    rule: 'unknown StepAction',
    docs: ['apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec:\n  steps: [{name: s, ref: {name: git-clone}}]\n'],
    errors: [e('Task/t', 'spec.steps[0].ref.name', 'unknown StepAction "git-clone": no StepAction of that name among the documents given')],
  },
  {
    rule: 'custom task (taskRef apiVersion/kind)',
    docs: [pipeline('    - name: wait\n      taskRef: {apiVersion: wait.testing.tekton.dev/v1beta1, kind: Wait}\n').replace('  workspaces: [{name: ws}]\n', '')],
    errors: [e('Pipeline/pl', 'spec.tasks[0].taskRef', 'custom task wait.testing.tekton.dev/v1beta1/Wait cannot run inside one pod (only Tasks can)')],
  },
  {
    rule: 'run-time value in an image field',
    docs: ['apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: img}\nspec:\n  params: [{name: image}]\n  steps: [{name: s, image: $(params.image), script: echo}]\n', 'apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: out}\nspec:\n  results: [{name: image}]\n  steps: [{name: s, image: busybox, script: echo}]\n', pipeline('    - name: a\n      taskRef: {name: out}\n    - name: b\n      taskRef: {name: img}\n      params: [{name: image, value: $(tasks.a.results.image)}]\n').replace('  workspaces: [{name: ws}]\n', '')],
    errors: [e('Task/img', 'spec.steps[0].image', 'image depends on the run-time value $(tasks.a.results.image) (pipeline task "b"); one pod needs every image before it starts')],
  },
  {
    rule: 'image empty after substitution',
    docs: ['apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec:\n  params: [{name: img, default: ""}]\n  steps: [{name: s, image: $(params.img), script: echo}]\n'],
    errors: [e('Task/t', 'spec.steps[0].image', 'image of step "s" is empty after substitution (pipeline task "t")')],
  },
  {
    rule: 'TaskRun binds a workspace the task does not declare',
    docs: [TASK, 'apiVersion: tekton.dev/v1\nkind: TaskRun\nmetadata: {name: tr}\nspec:\n  taskRef: {name: t}\n  workspaces: [{name: w, emptyDir: {}}, {name: x, emptyDir: {}}]\n'],
    errors: [e('TaskRun/tr', 'spec.workspaces[1].name', 'workspace "x" is not declared by the task')],
  },
  {
    rule: 'task-only context variable in a pipeline task param',
    docs: [TASK, pipeline(`    - name: a\n      taskRef: {name: t}\n      workspaces: [{name: w, workspace: ws}]\n      params: [{name: p, value: $(context.taskRun.name)}]\n`)],
    errors: [e('Pipeline/pl', 'spec.tasks[0].params[0].value', '$(context.taskRun.name) is only available inside a Task')],
  },
  {
    rule: 'unknown field',
    docs: ['apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec:\n  steps: [{name: s, image: busybox, script: echo, imagePolicy: always}]\n'],
    errors: [e('Task/t', 'spec.steps[0].imagePolicy', 'unknown field')],
  },
  {
    rule: 'a tekton.dev/v1beta1 field in a v1 PipelineRun names its v1 place',
    docs: [TASK, pipeline(ok), 'apiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata: {name: r}\nspec:\n  pipelineRef: {name: pl}\n  serviceAccountName: sa\n'],
    errors: [e('PipelineRun/r', 'spec.serviceAccountName', 'not a tekton.dev/v1 field; use spec.taskRunTemplate.serviceAccountName')],
  },
  {
    rule: 'bad duration string',
    docs: [TASK, pipeline(`    - name: a\n      timeout: 10 minutes\n      taskRef: {name: t}\n      workspaces: [{name: w, workspace: ws}]\n`)],
    errors: [e('Pipeline/pl', 'spec.tasks[0].timeout', 'invalid duration "10 minutes": use Go duration syntax such as 1h30m, 90s or 500ms')],
  },
  {
    rule: 'image entrypoint not resolvable (no resolver)',
    docs: ['apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec:\n  steps: [{name: s, image: busybox}]\n'],
    errors: [e('Task/t', 'spec.steps[0]', 'step "s" has neither command nor script and the entrypoint of image "busybox" could not be resolved: no image config resolver was given')],
  },
  {
    rule: 'image entrypoint not resolvable (resolver does not know it)',
    docs: ['apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec:\n  steps: [{name: s, image: busybox}]\n'],
    options: { imageConfigResolver: mapImageConfigResolver({}) },
    errors: [e('Task/t', 'spec.steps[0]', 'step "s" has neither command nor script and the entrypoint of image "busybox" could not be resolved: the image is unknown')],
  },
  {
    rule: 'image without Entrypoint or Cmd and a step without command',
    docs: ['apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec:\n  steps: [{name: s, image: scratchy}]\n'],
    options: { imageConfigResolver: mapImageConfigResolver({ scratchy: { entrypoint: [], cmd: [] } }) },
    errors: [e('Task/t', 'spec.steps[0]', 'step "s" has neither command nor script and image "scratchy" has neither Entrypoint nor Cmd')],
  },
  {
    rule: '$(tasks.status) outside finally',
    docs: [TASK, pipeline(`    - name: a\n      taskRef: {name: t}\n      workspaces: [{name: w, workspace: ws}]\n      params: [{name: p, value: $(tasks.status)}]\n`)],
    errors: [e('Pipeline/pl', 'spec.tasks[0].params[0].value', '$(tasks.status) is only available in finally tasks')],
  },
  {
    rule: 'step volumeMount of an undeclared volume',
    docs: ['apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec:\n  steps: [{name: s, image: busybox, script: echo, volumeMounts: [{name: cache, mountPath: /c}]}]\n'],
    errors: [e('Task/t', 'spec.steps[0].volumeMounts[0].name', 'volume "cache" is not declared in the task\'s volumes')],
  },
  {
    rule: 'two mounts at one path',
    docs: ['apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec:\n  workspaces: [{name: w, mountPath: /data}]\n  volumes: [{name: v, emptyDir: {}}]\n  steps: [{name: s, image: busybox, script: echo, volumeMounts: [{name: v, mountPath: /data/}]}]\n'],
    errors: [e('Task/t', 'spec.steps[0]', 'two mounts at /data in step "s" (workspaces, volumeMounts and /tekton/results must not overlap)')],
  },
  {
    rule: 'unsupported apiVersion',
    docs: ['apiVersion: tekton.dev/v1beta1\nkind: Task\nmetadata: {name: t}\nspec:\n  steps: [{name: s, image: busybox, script: echo}]\n'],
    errors: [
      e('Task/t', 'apiVersion', 'unsupported apiVersion "tekton.dev/v1beta1" (only tekton.dev/v1 is read)'),
    ],
  },
  {
    rule: 'nothing to build',
    docs: ['# only a comment\n'],
    errors: [e('', '', 'no Pipeline, PipelineRun, Task or TaskRun in the input')],
  },
  {
    rule: 'several Tasks and nothing that says which to build',
    docs: [TASK, TASK.replace('name: t}', 'name: u}')],
    errors: [e('Task/u', '', 'several Tasks and no Pipeline, PipelineRun or TaskRun: nothing says which to build (found Task/t, Task/u)')],
  },
  {
    rule: 'param override the pipeline does not declare',
    docs: [TASK, pipeline(ok)],
    options: { params: { nope: 'x' } },
    errors: [e('options', 'params.nope', 'the pipeline declares no param "nope"')],
  },
  {
    rule: 'tasks and finally timeouts over the pipeline timeout',
    docs: [TASK, pipeline(ok), 'apiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata: {name: r}\nspec:\n  pipelineRef: {name: pl}\n  timeouts: {pipeline: 1h, tasks: 50m, finally: 20m}\n'],
    errors: [e('PipelineRun/r', 'spec.timeouts', 'tasks and finally timeouts together must not exceed the pipeline timeout')],
  },
  {
    rule: 'a task timeout over the pipeline timeout',
    docs: [TASK, pipeline(`    - name: a\n      timeout: 2h\n      taskRef: {name: t}\n      workspaces: [{name: w, workspace: ws}]\n`)],
    errors: [e('Pipeline/pl', 'spec.tasks[0].timeout', 'task timeout (7200s) exceeds the pipeline timeout (3600s)')],
  },
  {
    rule: 'YAML syntax error is a clean message',
    docs: ['apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t\n'],
    errors: [
      e('doc0.yaml', '', 'YAML syntax error at line 4, column 1: Flow map in block collection must be sufficiently indented and end with a }'),
    ],
  },
  {
    rule: 'a YAML syntax error is reported once, not with every error that cascades from it',
    docs: ['apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec:\n  steps:\n    - {name: s, image: x, args: [$(params.a[0])]}\n    - {name: u, image: y}\n'],
    errors: [
      e('doc0.yaml', '', 'YAML syntax error at line 6, column 44: Missing , or : between flow sequence items (1 more error after it not shown)'),
    ],
  },
];

describe('validation rules', () => {
  for (const row of rows) {
    it(row.rule, () => {
      const sources = row.docs.map((text, i) => ({ name: `doc${i}.yaml`, text }));
      expect(validate(sources, row.options)).toEqual(row.errors);
    });
  }

  it('the valid base case has no errors (so every row above fails for its own reason)', () => {
    expect(validate([{ name: 'a.yaml', text: TASK }, { name: 'b.yaml', text: pipeline(ok) }])).toEqual([]);
  });

  it('collects every error, not just the first', () => {
    const text = pipeline(`    - name: A\n      taskRef: {name: nope}\n    - name: b\n      runAfter: [zzz]\n      taskRef: {name: t}\n      workspaces: [{name: w, workspace: ws}]\n      bogus: 1\n`);
    const r = build([{ name: 'a.yaml', text: TASK }, { name: 'b.yaml', text }]);
    expect(r.kind).toBe('invalid');
    expect(r.kind === 'invalid' ? r.errors.map((x) => x.path) : []).toEqual([
      'spec.tasks[0].name', 'spec.tasks[1].bogus', 'spec.tasks[0].taskRef.name', 'spec.tasks[1].runAfter[0]',
    ]);
  });
});
