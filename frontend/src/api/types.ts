// Aliases for the generated schema types (never hand-written shapes).
import type { components } from './schema';

type Schemas = components['schemas'];

export type Results = Schemas['Results'];
export type Build = Schemas['Build'];
export type BuildDetail = Schemas['BuildDetail'];
export type Step = Schemas['Step'];
export type LogInfo = Schemas['LogInfo'];
export type Builder = Schemas['Builder'];
export type Change = Schemas['Change'];
export type LogLines = Schemas['LogLines'];
export type LogLine = LogLines['lines'][number];
export type BuilderState = Builder['state'];
export type Session = Schemas['Session'];
export type User = Schemas['User'];
export type UserAttribute = User['attributes'][number];
export type Delivery = Schemas['Delivery'];
