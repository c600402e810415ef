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
export type TextPart = Schemas['TextPart'];
export type BuildSummary = Schemas['BuildSummary'];
export type Waterfall = Schemas['Waterfall'];
export type WaterfallEvent = Schemas['WaterfallEvent'];
export type Grid = Schemas['Grid'];
export type GridStamp = Schemas['GridStamp'];
export type GridRow = Schemas['GridRow'];
export type Console = Schemas['Console'];
export type ConsoleRow = Schemas['ConsoleRow'];
export type ConsoleBox = Schemas['ConsoleBox'];
export type ConsoleClass = Schemas['ConsoleClass'];
export type Master = Schemas['Master'];
export type ChangeList = Schemas['ChangeList'];
export type OneLinePerBuild = Schemas['OneLinePerBuild'];
export type ActionResult = Schemas['ActionResult'];
