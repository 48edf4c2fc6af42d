// Starts GraphiQL with the media graph's example tabs. Everything it loads is served by the
// media graph itself (graph_api/static), so it works without internet access.
(function () {
  var config = JSON.parse(document.getElementById('mediagraph-config').textContent);
  var tabs = config.examples.map(function (example) {
    return { query: example.query, variables: example.variables, headers: config.headers };
  });
  // subscriptions over graphql-transport-ws on the same path; GraphiQL puts the headers editor's
  // values (Authorization) in the connection_init payload
  var socket = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + config.subscriptionEndpoint;
  var fetcher = GraphiQL.createFetcher({ url: config.endpoint, subscriptionUrl: socket });
  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(React.createElement(GraphiQL, {
    fetcher: fetcher,
    defaultTabs: tabs,
    defaultQuery: tabs[0].query,
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: true,
    defaultEditorToolsVisibility: true,
  }));
})();
