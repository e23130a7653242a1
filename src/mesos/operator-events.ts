import { z } from 'zod';

// The parts of the v1 operator API's `Event` stream (`include/mesos/v1/master/master.proto`,
// message `Event`) that the task index reads, in their JSON form: snake_case field names,
// enums by name, times in seconds. Objects are loose, so the many fields not modelled here
// pass through, and a field the index does not need may be missing.

const idSchema = z.looseObject({ value: z.string() });

const labelsSchema = z.looseObject({
  labels: z.array(z.looseObject({ key: z.string(), value: z.string().optional() })).optional(),
});

/** `mesos.v1.TaskStatus`, as far as the index reads it. */
export const TaskStatusSchema = z.looseObject({
  task_id: idSchema,
  state: z.string(),
  /** Seconds since the epoch. */
  timestamp: z.number().optional(),
  agent_id: idSchema.optional(),
  container_status: z
    .looseObject({
      network_infos: z
        .array(
          z.looseObject({
            ip_addresses: z.array(z.looseObject({ ip_address: z.string().optional() })).optional(),
          }),
        )
        .optional(),
    })
    .optional(),
});

/** `mesos.v1.Task`. */
export const TaskSchema = z.looseObject({
  name: z.string().optional(),
  task_id: idSchema,
  framework_id: idSchema,
  agent_id: idSchema,
  state: z.string(),
  statuses: z.array(TaskStatusSchema).optional(),
  labels: labelsSchema.optional(),
  resources: z
    .array(
      z.looseObject({
        allocation_info: z.looseObject({ role: z.string().optional() }).optional(),
      }),
    )
    .optional(),
});

/** `mesos.v1.FrameworkInfo`. */
export const FrameworkInfoSchema = z.looseObject({
  id: idSchema.optional(),
  name: z.string(),
  principal: z.string().optional(),
  role: z.string().optional(),
  roles: z.array(z.string()).optional(),
});

/** `Response.GetFrameworks.Framework`. */
export const FrameworkSchema = z.looseObject({ framework_info: FrameworkInfoSchema });

/** `Response.GetAgents.Agent`. */
export const AgentSchema = z.looseObject({
  agent_info: z.looseObject({ id: idSchema.optional(), hostname: z.string() }),
  /** The agent's libprocess address, `slave(1)@10.0.0.5:5051`. */
  pid: z.string().optional(),
});

/** `Response.GetState`. */
export const StateSchema = z.looseObject({
  get_tasks: z
    .looseObject({
      pending_tasks: z.array(TaskSchema).optional(),
      tasks: z.array(TaskSchema).optional(),
      /** Tasks on agents that the master marked unreachable; they may come back. */
      unreachable_tasks: z.array(TaskSchema).optional(),
    })
    .optional(),
  get_frameworks: z.looseObject({ frameworks: z.array(FrameworkSchema).optional() }).optional(),
  get_agents: z
    .looseObject({
      agents: z.array(AgentSchema).optional(),
      /**
       * `AgentInfo` of the agents that a newly elected master read from its registry and
       * that have not registered with it again yet. Their tasks are not listed meanwhile.
       */
      recovered_agents: z.array(z.looseObject({ id: idSchema.optional() })).optional(),
    })
    .optional(),
});

/** `mesos.v1.master.Event`: one record of the `SUBSCRIBE` stream. */
export const OperatorEventSchema = z.looseObject({
  type: z.string(),
  subscribed: z
    .looseObject({
      get_state: StateSchema.optional(),
      heartbeat_interval_seconds: z.number().optional(),
    })
    .optional(),
  task_added: z.looseObject({ task: TaskSchema }).optional(),
  task_updated: z
    .looseObject({ framework_id: idSchema, status: TaskStatusSchema, state: z.string() })
    .optional(),
  agent_added: z.looseObject({ agent: AgentSchema }).optional(),
  agent_removed: z.looseObject({ agent_id: idSchema }).optional(),
  framework_added: z.looseObject({ framework: FrameworkSchema }).optional(),
  framework_updated: z.looseObject({ framework: FrameworkSchema }).optional(),
  framework_removed: z.looseObject({ framework_info: FrameworkInfoSchema }).optional(),
});

export type TaskStatus = z.infer<typeof TaskStatusSchema>;
export type Task = z.infer<typeof TaskSchema>;
export type FrameworkInfo = z.infer<typeof FrameworkInfoSchema>;
export type Agent = z.infer<typeof AgentSchema>;
export type OperatorState = z.infer<typeof StateSchema>;
export type OperatorEvent = z.infer<typeof OperatorEventSchema>;
