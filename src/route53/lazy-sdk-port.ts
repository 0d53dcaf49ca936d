/**
 * The SDK port, loaded on first use: @aws-sdk/client-route-53 takes a large
 * share of failoverd's start-up when imported, and a daemon without a
 * `route53:` section never needs it.
 */
import type { SdkPortOptions, SdkRoute53Port } from './sdk-port.ts';
import type { Route53Port } from './port.ts';

export class LazySdkRoute53Port implements Route53Port {
  private loading: Promise<SdkRoute53Port> | undefined;

  constructor(private readonly opts: SdkPortOptions) {}

  private load(): Promise<SdkRoute53Port> {
    this.loading ??= import('./sdk-port.ts').then(({ SdkRoute53Port: Port }) => new Port(this.opts));
    return this.loading;
  }

  listRecordSets: Route53Port['listRecordSets'] = async (...a) => (await this.load()).listRecordSets(...a);
  changeRecordSets: Route53Port['changeRecordSets'] = async (...a) => (await this.load()).changeRecordSets(...a);
  getChange: Route53Port['getChange'] = async (...a) => (await this.load()).getChange(...a);
  listHealthChecks: Route53Port['listHealthChecks'] = async (...a) => (await this.load()).listHealthChecks(...a);
  createHealthCheck: Route53Port['createHealthCheck'] = async (...a) => (await this.load()).createHealthCheck(...a);
  updateHealthCheck: Route53Port['updateHealthCheck'] = async (...a) => (await this.load()).updateHealthCheck(...a);
  deleteHealthCheck: Route53Port['deleteHealthCheck'] = async (...a) => (await this.load()).deleteHealthCheck(...a);
  listHealthCheckTags: Route53Port['listHealthCheckTags'] = async (...a) => (await this.load()).listHealthCheckTags(...a);
  addHealthCheckTags: Route53Port['addHealthCheckTags'] = async (...a) => (await this.load()).addHealthCheckTags(...a);

  /** Closes the client's connections (requests in flight fail); a later request opens a new client. */
  destroy(): void {
    const loading = this.loading;
    this.loading = undefined;
    void loading?.then((port) => port.destroy(), () => undefined);
  }
}
